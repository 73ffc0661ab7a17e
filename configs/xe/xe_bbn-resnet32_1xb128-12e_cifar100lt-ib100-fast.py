# XE (plain cross-entropy) on CIFAR100-LT IB 100 on the fast path (docs/configs.md,
# "Fast path"): batches fetched whole and augmented on the training
# device; otherwise xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
_base_ = [
    '../_base_/models/bbn-resnet32_linear.py',
    '../_base_/datasets/cifar100lt_bs128_fast.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
