# TDE (reference.md section 4): a causal-norm classifier trained with XE on
# its TE logits; it predicts with the counterfactual TDE logits (balanced
# view). --cfg-options model.head.predict_view=imbalanced predicts with TE.
_base_ = [
    '../xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py',
    '../_base_/models/tde_head.py',
]

model = dict(head={{_base_.tde_head}})
