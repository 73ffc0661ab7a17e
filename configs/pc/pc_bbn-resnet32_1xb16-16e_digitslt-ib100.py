# PC (post-compensation) on the embedded long-tailed digits.
# 16 epochs at IB 100: the offline demo (`make demo`, CPU, minutes).
# It needs no training of its own: test an XE checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_bbn-resnet32_1xb16-16e_digitslt-ib100/epoch_16.pth
_base_ = [
    '../_base_/models/bbn-resnet32_pc.py',
    '../_base_/datasets/digitslt-ib100_bs16.py',
    '../_base_/schedules/digitslt_bs16_16e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
default_hooks = dict(logger=dict(interval=10))
