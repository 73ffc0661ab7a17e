# The xERM-TDE student: a causal-norm (TDE) network trained with the xERM loss
# from ONE frozen TDE teacher network, whose TE logits are the imbalanced view
# and whose counterfactual TDE logits the balanced view. It predicts with its
# TE output (no effect removal) on every test set.
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./bbn-resnet32_tde.py', './xerm_student.py']

model = dict(
    type=_base_.xerm_classifier,
    # The authors' xERM-TDE student starts fresh.
    init_student_from_teacher=False,
    head=dict(
        predict_view='imbalanced',
        loss=dict(_base_.xerm_loss, _delete_=True)))
custom_hooks = _base_.custom_hooks + _base_.xerm_hooks
