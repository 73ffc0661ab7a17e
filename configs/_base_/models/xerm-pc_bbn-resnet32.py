# The xERM-PC student: the XE network (linear classifier) trained with the
# xERM loss from ONE frozen PC teacher network, whose plain logits are the
# imbalanced view and whose post-compensated logits (logits - log prior_train)
# the balanced view. It predicts with its plain output on every test set.
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./xerm_student.py']

# The authors start the xERM-PC student from the teacher's weights.
model = dict(init_student_from_teacher=True)
custom_hooks = _base_.xerm_hooks
