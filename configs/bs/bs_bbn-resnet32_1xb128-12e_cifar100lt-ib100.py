# Balanced Softmax on CIFAR100-LT IB 100; predicts with the balanced view.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
_base_ = [
    '../_base_/models/bbn-resnet32_bs.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
