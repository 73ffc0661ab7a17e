# xERM on iNaturalist 2018: ResNet-50 from scratch, 90 epochs, batch 256 on
# one device (the paper's recipe; GPU). The report sets the paper's Table 3
# (the balanced val list, the only test set) beside ours. The images and the
# lists: docs/get_started.md.
#   python tools/run_pipeline.py THIS_CONFIG --data-root DATA
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py.
_base_ = [
    '../_base_/pipelines/xerm_teachers_students.py',
    '../_base_/pipelines/paper_inat2018_resnet50.py',
]

recipe = 'resnet50_1xb256-90e_inat2018'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
report = dict(title='xERM on iNaturalist 2018, ResNet-50, 90 epochs')
# The budget-matched XE (twice the epochs) adds half of the pipeline's
# training time: off here; budget_matched = True adds it.
budget_matched = False
