# CIFAR100-LT IB 100 on the fast path (docs/configs.md, "Fast path"): the same
# data, batches and augmentation as cifar100lt_bs128.py, but the dataset hands
# the DataLoader whole uint8 batches (`batch_fetch=True`, no per-sample
# pipeline) and the pad-4 crop and flip run on the whole batch on the
# training device, in the data preprocessor, before the normalisation.
_base_ = ['./cifar100lt_bs128.py']

data_preprocessor = dict(
    type='xerm_mm.PixelAugClsDataPreprocessor',
    # Pinned batches (the tools' pin_memory=True) go to a GPU asynchronously.
    non_blocking=True,
    pixel_augments=[
        dict(type='xerm_mm.RandomPadCropFlip', padding=4, pad_val=0,
             flip_prob=0.5)
    ])

# A batch costs one array gather and 128 DataSamples (under a millisecond):
# no worker processes, which would only compete with the training's threads
# on a CPU. On a GPU, workers (e.g. num_workers=2, persistent_workers=True,
# pin_memory=True) overlap the fetch with the step.
fast_loader = dict(
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='xerm_mm.collate_fetched_batch'),
    dataset=dict(batch_fetch=True, pipeline=[dict(type='PackInputs')]))
train_dataloader = fast_loader
val_dataloader = fast_loader
test_dataloader = val_dataloader

