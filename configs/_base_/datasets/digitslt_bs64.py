# The embedded offline dataset: scikit-learn's handwritten digits (1,797
# images, 10 classes) split into train / test with a fixed seed, upsampled to
# 32x32 and made long-tailed with the CIFAR-LT profile code. No download.
dataset_type = 'xerm_mm.DigitsLT'

data_preprocessor = dict(
    num_classes=10, mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    # mmpretrain's tools default to persistent workers, which need workers.
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        split='train',
        imbalance_ratio=10,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        split='test',
        imbalance_ratio=1,
        train_imbalance_ratio=10,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# About 130 training images in the largest class: groups scaled to match.
val_evaluator = dict(type='xerm_mm.LongTailMetric', many_thr=60, few_thr=20)

test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict(
    type='xerm_mm.MultiTestLoop',
    test_sets=dict(
        balanced=dict(imbalance_ratio=1),
        ib10=dict(imbalance_ratio=10),
        ib5=dict(imbalance_ratio=5),
    ))
