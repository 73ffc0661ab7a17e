# xERM on CIFAR100-LT IB 100 with the paper's recipe (GPU), on the fast path
# (*-fast.py recipes: batches fetched whole, augmented on the device).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py.
# The report sets the paper's Tables 1 and 4 beside ours.
_base_ = [
    '../_base_/pipelines/xerm_teachers_students.py',
    '../_base_/pipelines/paper_cifar100lt-ib100_bbn-resnet32.py',
]

recipe = 'bbn-resnet32_1xb128-200e_cifar100lt-ib100-fast'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
