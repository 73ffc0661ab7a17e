# The xERM-TDE student: a causal-norm (TDE) network trained with the xERM loss
# from ONE frozen TDE teacher network, whose TE logits are the imbalanced view
# and whose counterfactual TDE logits the balanced view. It predicts with its
# TE output (no effect removal) on every test set.
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./xerm_student.py', './tde_head.py']

model = dict(
    # The authors' xERM-TDE student starts fresh.
    init_student_from_teacher=False,
    head=dict(_base_.tde_head, predict_view='imbalanced'))
custom_hooks = _base_.custom_hooks + _base_.xerm_hooks
