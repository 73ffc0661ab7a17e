# The xERM paper's Places365-LT recipe (Zhu et al., AAAI 2022; the authors'
# code, github.com/BeierZhu/xERM, xERM.TDE.public/config/Places_LT): batch
# 128, SGD momentum 0.9, weight decay 5e-4, lr 0.01 for the (ImageNet-
# pretrained) backbone and 0.1 for the classifier (the parameters named
# `head.*`: lr_mult 10), x 0.1 every 10 epochs, 30 epochs. The authors' TDE
# teacher configuration trained its backbone with lr 0.001; the paper's
# recipe (docs/configs.md) gives 0.01 to every method.
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4, fused=True),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='StepLR', step_size=10, gamma=0.1, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
# The recipe's batch, for LR auto-scaling with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=128)
