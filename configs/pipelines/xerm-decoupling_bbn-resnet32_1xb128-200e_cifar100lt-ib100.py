# xERM over Decoupling's cRT, LWS and tau-norm teachers on CIFAR100-LT IB 100,
# the 200-epoch recipe.
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_decoupling.py.
_base_ = ['../_base_/pipelines/xerm_decoupling.py']

recipe = 'bbn-resnet32_1xb128-200e_cifar100lt-ib100'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
