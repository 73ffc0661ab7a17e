# The xERM-PC student: the XE network (linear classifier) trained with the
# xERM loss from ONE frozen PC teacher network, whose plain logits are the
# imbalanced view and whose post-compensated logits (logits - log prior_train)
# the balanced view. It predicts with its plain output on every test set.
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./bbn-resnet32_linear.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    # The authors start the xERM-PC student from the teacher's weights.
    init_student_from_teacher=True,
    head=dict(loss=dict(_base_.xerm_loss, _delete_=True)))
custom_hooks = _base_.xerm_hooks
