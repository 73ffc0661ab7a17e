# Tau-normalisation (Kang et al., ICLR 2020; docs/methods.md): the XE
# network with a TauNormHead: its plain logits are the imbalanced view (and
# what training, plain XE, uses), the logits of the weights
# w_c / ||w_c||^tau (no bias) the balanced view, predicted with. Post hoc:
# test an XE checkpoint with it; choose tau with
# tools/analysis_tools/choose_tau_norm.py on `tau_norm_val_dataset`.
_base_ = ['./bbn-resnet32_linear.py']

model = dict(head=dict(type='xerm_mm.TauNormHead', tau=1.0))
