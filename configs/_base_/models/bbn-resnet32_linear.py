# XE baseline: the BBN / TDE ResNet-32 (128-d feature) + global average
# pooling + a linear classifier trained with cross-entropy.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='xerm_mm.BBNResNet32'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
