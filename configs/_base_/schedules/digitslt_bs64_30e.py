# The offline demo's schedule (DigitsLT, batch 64; not paper numbers): the
# recipe's SGD at lr 0.05, a 2-epoch linear warm-up from lr / 3, then cosine
# annealing to the last epoch (T_max = max_epochs - 2: 28 here; with
# --cfg-options train_cfg.max_epochs=N the cosine still ends at 0 at epoch N,
# and for N <= 2, tools/train.py leaves it out).
_base_ = ['./cifar_bs128_200e.py']

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1. / 3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=10)
auto_scale_lr = dict(base_batch_size=64)
