# XE (plain cross-entropy) on ImageNet-LT: ResNeXt-50 32x4d, 90 epochs,
# batch 256 on one device (the xERM paper's recipe, docs/configs.md).
_base_ = [
    '../_base_/models/resnext50_linear.py',
    '../_base_/datasets/imagenetlt_bs256.py',
    '../_base_/schedules/imagenetlt_bs256_90e.py',
    '../_base_/default_runtime.py',
]
