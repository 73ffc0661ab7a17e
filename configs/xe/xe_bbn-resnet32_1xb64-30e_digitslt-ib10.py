# The offline demo: XE on the embedded long-tailed digits (CPU, minutes).
_base_ = [
    '../_base_/models/bbn-resnet32_linear.py',
    '../_base_/datasets/digitslt_bs64.py',
    '../_base_/schedules/cifar_bs128_200e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    head=dict(num_classes=10))
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1. / 3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, T_max=28),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=10)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=10))
