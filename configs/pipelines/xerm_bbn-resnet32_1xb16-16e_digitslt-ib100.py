# The offline demo (`make demo`): xERM on the embedded long-tailed digits at
# IB 100, where the long-tail bias shows (CPU, under 3 minutes).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py.
_base_ = ['../_base_/pipelines/xerm_teachers_students.py']

recipe = 'bbn-resnet32_1xb16-16e_digitslt-ib100'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
# Off in the demo: the XE-2x stage and its two tests would take it past 3
# minutes (xerm_bbn-resnet32_1xb64-30e_digitslt-ib10.py has it).
budget_matched = False
