# The xERM student over a balanced teacher trained on its own (logit
# adjustment, Balanced Softmax, LADE, ...): the XE network (linear
# classifier) trained with the xERM loss from ONE frozen teacher network
# whose head gives both views (views(): imbalanced and balanced logits). It
# predicts with its plain output on every test set. It starts fresh (the
# teacher's weights give balanced, not plain, logits).
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./bbn-resnet32_linear.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    init_student_from_teacher=False,
    head=dict(loss=dict(_base_.xerm_loss, _delete_=True)))
custom_hooks = _base_.xerm_hooks
