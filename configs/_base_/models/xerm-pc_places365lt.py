# The xERM-PC student on Places365-LT (xerm-pc_bbn-resnet32.py on the
# network of places365lt_linear.py), gamma of places365lt_linear.py. It
# starts from the teacher's weights. A recipe adds the teacher.
_base_ = ['./places365lt_linear.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    init_student_from_teacher=True,
    head=dict(
        loss=dict(_base_.xerm_loss, _delete_=True, gamma=_base_.xerm_gamma)))
custom_hooks = _base_.xerm_hooks
