# CIFAR100-LT with imbalance ratio 50: the training split and the training
# counts every test split carries (its many / medium / few groups).
_base_ = ['./cifar100lt_bs128.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50))
val_dataloader = dict(dataset=dict(train_imbalance_ratio=50))
test_dataloader = val_dataloader
