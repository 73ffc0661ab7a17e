# xERM on Places365-LT: ImageNet-pretrained ResNet-152, 30 epochs, batch 128
# on one device (the paper's recipe; GPU). The report sets the paper's Table
# 3 (balanced test set) beside ours; the imbalanced test sets (IB 50 / 25 /
# 10 / 5, forward and backward) have no table in the paper. The ImageNet
# weights are read from a local file (_base_/models/resnet_backbones.py says
# where to get it). The images and the lists: docs/get_started.md.
#   python tools/run_pipeline.py THIS_CONFIG --data-root DATA
# The stages and evaluations: _base_/pipelines/xerm_teachers_students.py.
_base_ = [
    '../_base_/pipelines/xerm_teachers_students.py',
    '../_base_/pipelines/paper_places365lt_resnet152.py',
]

recipe = 'resnet152_1xb128-30e_places365lt'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
evaluations = [
    dict(e, config=e.config.format(recipe)) if 'config' in e else e
    for e in _base_.evaluations
]
report = dict(
    title='xERM on Places365-LT, ResNet-152 (ImageNet-pretrained), 30 epochs')
# The budget-matched XE (twice the epochs) adds half of the pipeline's
# training time: off here; budget_matched = True adds it.
budget_matched = False
