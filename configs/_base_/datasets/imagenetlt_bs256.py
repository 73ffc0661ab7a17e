# ImageNet-LT (docs/datasets.md): the published OLTR lists
# ImageNet_LT_{train,val,test}.txt in `data_root`, the image paths in them
# relative to `data_root` (train/..., val/... of ILSVRC-2012). The recipe of
# the xERM paper (Zhu et al., AAAI 2022; github.com/BeierZhu/xERM): batch 256,
# random resized crop 224, flip, colour jitter (0.4, 0.4, 0.4, 0); test:
# short side 256, centre crop 224.
_base_ = ['./lt_imbalanced_test_sets.py']

dataset_type = 'xerm_mm.ImageNetLT'
data_root = 'data/imagenet'

data_preprocessor = dict(
    num_classes=1000,
    # ImageNet channel statistics, 0..255 scale, RGB.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
        hue=0.),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

# Validation during training: the balanced test list (50 per class).
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        imbalance_ratio=1,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='xerm_mm.LongTailMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
