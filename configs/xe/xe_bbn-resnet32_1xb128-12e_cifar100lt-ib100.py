# XE (plain cross-entropy) on CIFAR100-LT IB 100: the imbalanced baseline.
# Short schedule (12 epochs) of xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py, for CPU runs.
_base_ = [
    '../_base_/models/bbn-resnet32_linear.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
