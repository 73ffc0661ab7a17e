# TDE on the embedded long-tailed digits.
# 30 epochs at IB 10: an easy task (every method 94-97 % balanced); the
# offline demo is the IB 100 recipe, 1xb16-16e_digitslt-ib100.
_base_ = [
    '../_base_/models/bbn-resnet32_tde.py',
    '../_base_/datasets/digitslt_bs64.py',
    '../_base_/schedules/digitslt_bs64_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
default_hooks = dict(logger=dict(interval=10))
