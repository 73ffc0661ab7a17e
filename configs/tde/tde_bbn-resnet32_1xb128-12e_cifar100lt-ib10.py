_base_ = ['./tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=10))
val_dataloader = dict(dataset=dict(train_imbalance_ratio=10))
test_dataloader = val_dataloader
