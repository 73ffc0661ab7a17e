# xERM over logit adjustment, Balanced Softmax and LADE on CIFAR100-LT IB 100,
# short schedules (CPU checks, not paper numbers).
#   python tools/run_pipeline.py THIS_CONFIG [--data-root DIR]
# The stages and evaluations: _base_/pipelines/xerm_balanced_teachers_students.py.
_base_ = ['../_base_/pipelines/xerm_balanced_teachers_students.py']

recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
