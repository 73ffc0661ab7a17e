# TDE on Places365-LT: ImageNet-pretrained ResNet-50, 30 epochs (x 0.1 every
# 10), batch 256 on one device (total batch: auto_scale_lr), lr 0.01 for the
# backbone and 0.1 for the classifier, weight decay 5e-4.
# The ImageNet weights are read from a local file before training
# (_base_/models/resnet_backbones.py says where to get them; another file:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH).
_base_ = [
    '../_base_/models/places365lt_tde.py',
    '../_base_/models/resnet_backbones.py',
    '../_base_/datasets/places365lt_bs256.py',
    '../_base_/schedules/places365lt_bs256_30e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=_base_.backbones.resnet50_in1k)
