# XE on iNaturalist 2018: ResNet-50 from scratch (resnet_backbones.py) +
# global average pooling + a linear classifier (2048 -> 8142) trained with
# cross-entropy.
_base_ = ['./resnet_backbones.py']

model = dict(
    type='ImageClassifier',
    backbone=_base_.backbones.resnet50,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
# The xERM students' gamma on iNaturalist 2018: 1.5 (the paper;
# docs/methods.md, xERM).
xerm_gamma = 1.5
