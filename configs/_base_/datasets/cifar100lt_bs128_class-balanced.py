# CIFAR100-LT (cifar100lt_bs128.py) with class-balanced sampling: each class
# equally likely, then a uniform image of it (Decoupling's cRT and LWS).
_base_ = ['./cifar100lt_bs128.py']

train_dataloader = dict(
    sampler=dict(type='xerm_mm.ClassBalancedSampler', _delete_=True))
