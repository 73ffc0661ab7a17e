# Retraining a classifier on frozen features (the feature study): the CIFAR
# recipe's SGD (momentum 0.9, weight decay 5e-4) at lr 0.1, cosine annealing
# to 0 over 10 epochs (about the 10 epochs of Decoupling's cRT). Not a paper
# setting: the xERM paper gives none for Table 6.
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, fused=True))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
