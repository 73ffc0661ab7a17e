# TDE on Places365-LT: the network of places365lt_linear.py with the
# causal-norm head of tde_head_lt.py on the 2048-d feature (K = 2, tau 16,
# gamma 1/32), alpha 2.0 (the xERM authors' Places_LT configuration;
# docs/methods.md, TDE; it put a 2048 -> 512 layer before a one-head
# classifier, the recipe here keeps TDE's K = 2 on the pooled feature).
_base_ = ['./places365lt_linear.py', './tde_head_lt.py']

model = dict(head=dict(_base_.tde_head, alpha=2.0))
