# CIFAR100-LT (cifar100lt_bs128.py) and the held-out data that
# tools/analysis_tools/choose_tau_norm.py chooses tau-norm's tau on: the
# CIFAR-100 training images the long-tailed split leaves out (never the test
# set), <= 100 per class (CIFAR100LTHeldOut, docs/methods.md).
_base_ = ['./cifar100lt_bs128.py']

tau_norm_val_dataset = dict(
    type='xerm_mm.CIFAR100LTHeldOut',
    data_root=_base_.data_root,
    imbalance_ratio=100,
    max_per_class=100,
    pipeline=_base_.test_pipeline)
