# The xERM pipeline (tools/run_pipeline.py) over Decoupling's balanced
# teachers (Kang et al., ICLR 2020), all from one XE network: cRT and LWS
# retrain the classifier (cRT) or learn per-class scales (LWS) on the frozen
# XE network with class-balanced sampling (`init_from='xe'`: the stage's
# model.init_cfg.checkpoint is XE's final checkpoint); tau-normalisation is
# post hoc (`post_hoc='xe'`): choose_tau_norm.py chooses tau on held-out
# training images and the stage's evaluation and student use XE's checkpoint
# with that tau. Then an xERM student over each, and XE, the three teachers
# (their balanced view) and the students are tested on the balanced and the
# imbalanced test sets; report.{json,md} are written in the work dir.
# `{}` in a config path stands for the recipe, as in
# xerm_teachers_students.py; a pipeline config fills it in.
stages = [
    dict(name='xe', config='xerm_mm::xe/xe_{}.py'),
    dict(name='crt', config='xerm_mm::decoupling/crt_{}.py', init_from='xe'),
    dict(name='lws', config='xerm_mm::decoupling/lws_{}.py', init_from='xe'),
    dict(name='taunorm', config='xerm_mm::decoupling/taunorm_{}.py',
         post_hoc='xe', chooser='tools/analysis_tools/choose_tau_norm.py'),
] + [
    dict(name=f'xerm_{algo}', config=f'xerm_mm::xerm/xerm-{algo}_{{}}.py',
         teacher=algo) for algo in ('crt', 'lws', 'taunorm')
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='cRT', stage='crt'),
    dict(name='LWS', stage='lws'),
    dict(name='tau-norm', stage='taunorm'),
    dict(name='xERM-cRT', stage='xerm_crt'),
    dict(name='xERM-LWS', stage='xerm_lws'),
    dict(name='xERM-tau-norm', stage='xerm_taunorm'),
]
balanced_set = 'balanced'
