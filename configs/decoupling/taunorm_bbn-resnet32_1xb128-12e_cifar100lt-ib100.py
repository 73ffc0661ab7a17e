# Decoupling's tau-normalisation on CIFAR100-LT IB 100: the XE network, its
# balanced view the classifier with weights w_c / ||w_c||^tau (post hoc).
# 12 epochs: a short schedule for CPU runs (not paper numbers).
# Training it trains plain XE; usually test the XE checkpoint with it:
#   tools/analysis_tools/choose_tau_norm.py THIS_CONFIG XE_CKPT
#   tools/test.py THIS_CONFIG XE_CKPT --cfg-options model.head.tau=TAU
_base_ = [
    '../_base_/models/bbn-resnet32_taunorm.py',
    '../_base_/datasets/cifar100lt_bs128_heldout.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
