# The xERM pipeline (tools/run_pipeline.py) over the balanced teachers that
# train with the prior in the loss: logit adjustment (LA), Balanced Softmax
# (BS) and LADE. Stage 1 trains XE (the baseline) and the three teachers;
# stage 2 an xERM student from each teacher's final checkpoint. Then XE, the
# teachers (their balanced view) and the students are tested on the balanced
# and the imbalanced test sets, and report.{json,md} are written.
# `{}` in a config path stands for the recipe, as in
# xerm_teachers_students.py; a pipeline config fills it in.
stages = [
    dict(name='xe', config='xerm_mm::xe/xe_{}.py'),
    dict(name='la', config='xerm_mm::la/la_{}.py'),
    dict(name='bs', config='xerm_mm::bs/bs_{}.py'),
    dict(name='lade', config='xerm_mm::lade/lade_{}.py'),
] + [
    dict(name=f'xerm_{algo}', config=f'xerm_mm::xerm/xerm-{algo}_{{}}.py',
         teacher=algo) for algo in ('la', 'bs', 'lade')
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='LA', stage='la'),
    dict(name='BS', stage='bs'),
    dict(name='LADE', stage='lade'),
    dict(name='xERM-LA', stage='xerm_la'),
    dict(name='xERM-BS', stage='xerm_bs'),
    dict(name='xERM-LADE', stage='xerm_lade'),
]
balanced_set = 'balanced'
