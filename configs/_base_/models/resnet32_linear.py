# The classic He et al. CIFAR ResNet-32 (64-d feature) + linear classifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='xerm_mm.ResNet32'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
