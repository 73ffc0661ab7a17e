# PC (post-compensation) on ImageNet-LT: ResNeXt-50 32x4d, 90 epochs,
# batch 256 on one device (total batch: auto_scale_lr), the XE recipe.
# It needs no training of its own: test an XE checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_resnext50_1xb256-90e_imagenetlt/epoch_90.pth
_base_ = [
    '../_base_/models/resnext50_pc.py',
    '../_base_/datasets/imagenetlt_bs256.py',
    '../_base_/schedules/imagenetlt_bs256_90e.py',
    '../_base_/default_runtime.py',
]
