# The xERM-TDE student on iNaturalist 2018 (xerm-tde_bbn-resnet32.py on the
# network of inat2018_tde.py), gamma of inat2018_linear.py. It starts fresh
# and predicts with its TE output. A recipe adds the teacher.
_base_ = ['./inat2018_tde.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    init_student_from_teacher=False,
    head=dict(
        predict_view='imbalanced',
        loss=dict(_base_.xerm_loss, _delete_=True, gamma=_base_.xerm_gamma)))
custom_hooks = _base_.custom_hooks + _base_.xerm_hooks
