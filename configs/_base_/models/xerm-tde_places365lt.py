# The xERM-TDE student on Places365-LT (xerm-tde_bbn-resnet32.py on the
# network of places365lt_tde.py), gamma of places365lt_linear.py. It starts
# fresh (from the ImageNet weights) and predicts with its TE output. A
# recipe adds the teacher.
_base_ = ['./places365lt_tde.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    init_student_from_teacher=False,
    head=dict(
        predict_view='imbalanced',
        loss=dict(_base_.xerm_loss, _delete_=True, gamma=_base_.xerm_gamma)))
custom_hooks = _base_.custom_hooks + _base_.xerm_hooks
