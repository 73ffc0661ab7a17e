# TDE on CIFAR100-LT IB 10.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
_base_ = [
    '../_base_/models/bbn-resnet32_tde.py',
    '../_base_/datasets/cifar100lt-ib10_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
