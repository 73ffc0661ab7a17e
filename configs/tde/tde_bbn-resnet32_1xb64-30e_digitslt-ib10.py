# TDE (reference.md section 4) on the embedded long-tailed digits: a
# causal-norm classifier trained with XE on its TE logits; it predicts with
# the counterfactual TDE logits (balanced view). The CIFAR settings
# (tau 16, K 2, alpha 1.5, mu 0.9). --cfg-options
# model.head.predict_view=imbalanced predicts with TE.
_base_ = [
    '../xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py',
    '../_base_/models/tde_head.py',
]

model = dict(head={{_base_.tde_head}})
