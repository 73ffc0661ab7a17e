# xERM on the embedded long-tailed digits at IB 10 (CPU, minutes): an easy
# task (every method 94-97 % balanced). The offline demo (`make demo`) is
# xerm_bbn-resnet32_1xb16-16e_digitslt-ib100.py.
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py.
_base_ = ['../_base_/pipelines/xerm_teachers_students.py']

recipe = 'bbn-resnet32_1xb64-30e_digitslt-ib10'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
