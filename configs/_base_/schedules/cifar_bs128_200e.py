# The xERM paper's CIFAR recipe (Zhu et al., AAAI 2022; the authors' code,
# github.com/BeierZhu/xERM), scaled to one device (authors: batch 256, lr 0.2):
# SGD momentum 0.9, weight decay 5e-4; 5-epoch linear warm-up from lr / 3;
# lr x 0.01 at epochs 120 and 160.
# fused=True: torch's one-kernel SGD (CPU and CUDA), ~4x faster per step than
# the default per-tensor loop on the CPU, the same update to float32
# rounding (docs/configs.md).
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, fused=True))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1. / 3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[120, 160],
        gamma=0.01),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
# The recipe's batch, for LR auto-scaling with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=128)
