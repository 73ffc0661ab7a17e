# TDE on the embedded long-tailed digits.
# 30 epochs: the offline demo (CPU, minutes).
_base_ = [
    '../_base_/models/bbn-resnet32_tde.py',
    '../_base_/datasets/digitslt_bs64.py',
    '../_base_/schedules/digitslt_bs64_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
default_hooks = dict(logger=dict(interval=10))
