# CIFAR100-LT (docs/datasets.md). The training split is long-tailed
# with `imbalance_ratio`; every test split carries the training counts
# (`train_imbalance_ratio`) that define the many / medium / few groups.
# Point `data_root` at a folder holding `cifar-100-python/`, e.g. with
# `tools/train.py CONFIG --data-root ../shared/data/cifar100`.
dataset_type = 'xerm_mm.CIFAR100LT'
data_root = 'data/cifar100'

data_preprocessor = dict(
    num_classes=100,
    # CIFAR-100 training-set channel statistics, 0..255 scale.
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        imbalance_ratio=100,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

# Validation during training: the balanced test set.
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        imbalance_ratio=1,
        train_imbalance_ratio=100,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='xerm_mm.LongTailMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# tools/test.py: the balanced test set and the imbalanced ones of the xERM
# paper's Table 4 (forward profile, docs/datasets.md), one table row each.
test_cfg = dict(
    type='xerm_mm.MultiTestLoop',
    test_sets=dict(
        balanced=dict(imbalance_ratio=1),
        ib100=dict(imbalance_ratio=100),
        ib50=dict(imbalance_ratio=50),
        ib10=dict(imbalance_ratio=10),
        ib5=dict(imbalance_ratio=5),
    ))
