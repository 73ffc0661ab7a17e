# The balanced CIFAR-100 of the feature study (the xERM paper's Table 6): the
# whole training set (CIFAR100LT with imbalance ratio 1: 500 images of every
# class, 50,000 in all) and the balanced test set. The test set keeps the
# training counts of CIFAR100-LT IB 100 (`train_imbalance_ratio`), so the
# many / medium / few groups are those of the long-tailed training that
# made the backbone.
_base_ = ['./cifar100lt_bs128.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=1))
test_cfg = dict(
    test_sets=dict(_delete_=True, balanced=dict(imbalance_ratio=1)))
