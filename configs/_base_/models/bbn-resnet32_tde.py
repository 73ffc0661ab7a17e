# TDE (Tang et al., NeurIPS 2020; docs/methods.md): the XE network with a
# causal-norm head trained with XE on its TE logits; it predicts with the
# counterfactual TDE logits (balanced view). --cfg-options
# model.head.predict_view=imbalanced predicts with TE.
_base_ = ['./bbn-resnet32_linear.py', './tde_head.py']

model = dict(head={{_base_.tde_head}})
