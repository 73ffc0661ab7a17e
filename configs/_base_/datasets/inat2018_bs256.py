# iNaturalist 2018 (docs/datasets.md): iNaturalist18_{train,val}.txt in
# `data_root` (tools/dataset_converters/ writes them from the official json
# annotations), the image paths in them relative to `data_root`. The
# ImageNet-LT data settings (imagenetlt_bs256.py: batch 256, random resized
# crop 224, flip; test: short side 256, centre crop 224) WITHOUT colour
# jitter (docs/configs.md), validated and tested on the balanced val
# list only (no test list, no imbalanced test sets).
_base_ = ['./imagenetlt_bs256.py']

dataset_type = 'xerm_mm.INaturalist2018'
data_root = 'data/inat2018'

data_preprocessor = dict(num_classes=8142)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='val'))
test_dataloader = val_dataloader
test_cfg = dict(
    test_sets=dict(_delete_=True, balanced=dict(imbalance_ratio=1)))
