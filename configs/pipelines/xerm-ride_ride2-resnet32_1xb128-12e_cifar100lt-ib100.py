# xERM over RIDE with 2 experts on CIFAR100-LT IB 100, 12 epochs (CPU checks, not paper numbers).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_ride.py.
_base_ = ['../_base_/pipelines/xerm_ride.py']

recipe = 'ride2-resnet32_1xb128-12e_cifar100lt-ib100'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
