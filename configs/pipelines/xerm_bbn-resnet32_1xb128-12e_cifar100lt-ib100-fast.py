# xERM on CIFAR100-LT IB 100, short schedules (CPU checks, not paper numbers),
# on the fast path (*-fast.py recipes: batches fetched whole, augmented on the
# device).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py,
# then TDE with alpha chosen from data and xERM over it
# (_base_/pipelines/tde_auto_alpha.py: TDE-auto-alpha, xERM-TDE-auto-alpha).
_base_ = [
    '../_base_/pipelines/xerm_teachers_students.py',
    '../_base_/pipelines/tde_auto_alpha.py',
]

recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast'
stages = [
    dict(s, config=s.config.format(recipe))
    for s in _base_.stages + _base_.tde_auto_alpha_stages
]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations + _base_.tde_auto_alpha_evaluations
]
