# The offline demo's schedule (DigitsLT, batch 64; not paper numbers): the
# recipe's SGD at lr 0.05, a 2-epoch linear warm-up from lr / 3, then cosine
# annealing to epoch 30.
_base_ = ['./cifar_bs128_200e.py']

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1. / 3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, T_max=28),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=10)
auto_scale_lr = dict(base_batch_size=64)
