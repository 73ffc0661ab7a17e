# PC (post-compensation) on iNaturalist 2018: ResNet-50 from scratch, 90 epochs
# cosine, batch 256 on one device (total batch: auto_scale_lr), lr 0.1, weight
# decay 1e-4.
# It needs no training of its own: test an XE checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_resnet50_1xb256-90e_inat2018/epoch_90.pth
_base_ = [
    '../_base_/models/inat2018_pc.py',
    '../_base_/datasets/inat2018_bs256.py',
    '../_base_/schedules/inat2018_bs256_90e.py',
    '../_base_/default_runtime.py',
]
