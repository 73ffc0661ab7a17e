# TDE on ImageNet-LT: the ResNeXt-50 32x4d network with the causal-norm head
# of tde_head_lt.py on its 2048-d feature (K = 2 heads of 1024, tau 16,
# gamma 1/32), alpha 3.0 (the TDE authors' ImageNet-LT configuration;
# docs/methods.md, TDE). It predicts with the TDE logits.
_base_ = ['./resnext50_linear.py', './tde_head_lt.py']

model = dict(head=dict(_base_.tde_head, alpha=3.0))
