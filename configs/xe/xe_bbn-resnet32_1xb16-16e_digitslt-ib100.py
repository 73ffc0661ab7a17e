# XE (plain cross-entropy, the imbalanced baseline) on the embedded long-tailed
# digits.
# 16 epochs at IB 100: the offline demo (`make demo`, CPU, minutes).
_base_ = [
    '../_base_/models/bbn-resnet32_linear.py',
    '../_base_/datasets/digitslt-ib100_bs16.py',
    '../_base_/schedules/digitslt_bs16_16e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
default_hooks = dict(logger=dict(interval=10))
