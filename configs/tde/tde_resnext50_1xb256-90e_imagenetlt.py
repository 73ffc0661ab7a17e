# TDE on ImageNet-LT: ResNeXt-50 32x4d, 90 epochs cosine, batch 256 and
# lr 0.1 on one device (total batch: auto_scale_lr); alpha 3.0.
# The authors' batch 512 / lr 0.2:
#   tools/dist_train.sh THIS_CONFIG 2 --auto-scale-lr
_base_ = [
    '../_base_/models/resnext50_tde.py',
    '../_base_/datasets/imagenetlt_bs256.py',
    '../_base_/schedules/imagenetlt-tde_bs256_90e.py',
    '../_base_/default_runtime.py',
]
