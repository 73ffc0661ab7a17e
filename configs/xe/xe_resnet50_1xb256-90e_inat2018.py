# XE (plain cross-entropy) on iNaturalist 2018: ResNet-50 from scratch, 90
# epochs cosine, batch 256 on one device (total batch: auto_scale_lr), lr 0.1,
# weight decay 1e-4.
_base_ = [
    '../_base_/models/inat2018_linear.py',
    '../_base_/datasets/inat2018_bs256.py',
    '../_base_/schedules/inat2018_bs256_90e.py',
    '../_base_/default_runtime.py',
]
