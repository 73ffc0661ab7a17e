# The xERM paper's ImageNet-LT recipe (Zhu et al., AAAI 2022; the authors'
# code, github.com/BeierZhu/xERM, its PC / XE configuration): batch 256,
# SGD momentum 0.9, lr 0.05, weight decay 5e-4, cosine decay to 0 over
# 90 epochs.
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, fused=True))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=90,
        eta_min=0.,
        by_epoch=True,
        begin=0,
        end=90,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=10)
val_cfg = dict()
# The recipe's batch, for LR auto-scaling with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=256)
