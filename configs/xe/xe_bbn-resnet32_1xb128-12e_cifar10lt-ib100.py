# XE (plain cross-entropy, the imbalanced baseline) on CIFAR10-LT IB 100.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
_base_ = [
    '../_base_/models/bbn-resnet32_linear.py',
    '../_base_/datasets/cifar10lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
