# XE on Places365-LT: an ImageNet-pretrained ResNet (the recipe picks it from
# resnet_backbones.py: model = dict(backbone=_base_.backbones.resnet152_in1k))
# + global average pooling + a linear classifier (2048 -> 365) trained with
# cross-entropy.
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=365,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
# The xERM students' gamma on Places365-LT: 5 (the paper); the authors'
# released configuration used 2 (docs/methods.md, xERM).
xerm_gamma = 5.0
