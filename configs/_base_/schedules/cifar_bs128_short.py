# A short schedule for CPU checks (not paper numbers), 12 epochs: the
# recipe's SGD, a 1-epoch linear warm-up from lr / 3, lr x 0.1 at epochs 8
# and 10.
_base_ = ['./cifar_bs128_200e.py']

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1. / 3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[8, 10],
        gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=4)
