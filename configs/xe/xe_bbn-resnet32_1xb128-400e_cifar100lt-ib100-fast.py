# XE on CIFAR100-LT IB 100 for twice the paper's epochs: the budget-matched
# baseline of an xERM student (its teachers' 200 + its own 200 epochs), as a
# pipeline's stage with epochs_factor=2 trains it (docs/methods.md).
_base_ = ['./xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100-fast.py']
param_scheduler = [
    dict(_base_.param_scheduler[0], end=10),
    dict(_base_.param_scheduler[1], milestones=[240, 320]),
]
train_cfg = dict(max_epochs=400)
