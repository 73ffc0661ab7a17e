# xERM on CIFAR100-LT IB 100 with the paper's recipe (GPU).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# Stage 1 trains the teachers: XE (whose network is also the PC teacher) and
# TDE; stage 2 the xERM students from their final checkpoints. Then XE, PC,
# TDE, xERM-PC and xERM-TDE are tested on the balanced and the imbalanced
# test sets, and report.{json,md} are written in the work dir.
stages = [
    dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'),
    dict(name='tde', config='xerm_mm::tde/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'),
    dict(
        name='xerm_pc',
        config='xerm_mm::xerm/xerm-pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py',
        teacher='xe'),
    dict(
        name='xerm_tde',
        config='xerm_mm::xerm/xerm-tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py',
        teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(
        name='PC',
        stage='xe',
        config='xerm_mm::pc/pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc'),
    dict(name='xERM-TDE', stage='xerm_tde'),
]
balanced_set = 'balanced'
