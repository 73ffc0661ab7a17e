# The xERM pipeline (tools/run_pipeline.py) for any recipe. Stage 1 trains the
# teachers: XE (whose network is also the PC teacher) and TDE; stage 2 the
# xERM students from their final checkpoints. Then XE, PC, TDE, xERM-PC and
# xERM-TDE are tested on the balanced and the imbalanced test sets, and
# report.{json,md} are written in the work dir.
# Budget-matched baselines: teacher + student train twice the epochs of XE,
# so stage `xe_2x` trains XE for twice its recipe's epochs, the schedule
# stretched with them (warm-up and milestones x2; `epochs_factor`, see
# xerm_mm.experiment.plan), tested as XE-2x and PC-2x; the report says
# whether xERM's gain survives the equal budget. A pipeline config turns
# them off with `budget_matched = False`.
# `{}` in a config path stands for the recipe (the file name after the
# method); a pipeline config fills it in:
#   recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
#   stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
stages = [
    dict(name='xe', config='xerm_mm::xe/xe_{}.py'),
    dict(name='tde', config='xerm_mm::tde/tde_{}.py'),
    dict(name='xe_2x', config='xerm_mm::xe/xe_{}.py', epochs_factor=2),
    dict(
        name='xerm_pc',
        config='xerm_mm::xerm/xerm-pc_{}.py',
        teacher='xe'),
    dict(
        name='xerm_tde',
        config='xerm_mm::xerm/xerm-tde_{}.py',
        teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='PC', stage='xe', config='xerm_mm::pc/pc_{}.py'),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc'),
    dict(name='xERM-TDE', stage='xerm_tde'),
    dict(name='XE-2x', stage='xe_2x'),
    dict(name='PC-2x', stage='xe_2x', config='xerm_mm::pc/pc_{}.py'),
]
budget_matched = True
balanced_set = 'balanced'
