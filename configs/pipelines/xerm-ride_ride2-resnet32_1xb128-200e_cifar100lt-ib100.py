# xERM over RIDE with 2 experts on CIFAR100-LT IB 100, 200 epochs.
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_ride.py.
_base_ = ['../_base_/pipelines/xerm_ride.py']

recipe = 'ride2-resnet32_1xb128-200e_cifar100lt-ib100'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
report = dict(
    title='xERM over RIDE (2 experts) on CIFAR100-LT IB 100',
    tables=dict(balanced=None, imbalanced=None),
    paper=dict(
        source='Zhu et al., AAAI 2022 (github.com/BeierZhu/xERM, '
        'xERM.RIDE.public)',
        results={
            'RIDE-PC': dict(balanced=dict(top1=46.3)),
            'xERM-RIDE-PC': dict(balanced=dict(top1=47.8)),
        }))
