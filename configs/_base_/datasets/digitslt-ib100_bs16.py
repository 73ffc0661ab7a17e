# The embedded DigitsLT made hard enough to show the long-tail bias (the
# offline demo): imbalance ratio 100, so the training split keeps 124, 74,
# 44, 26, 16, 9, 5, 3, 2 and 1 images of the digits 0..9 (304 in all), at
# batch 16. Groups scaled from CIFAR's (many > n_max / 5, few < n_max / 25):
# many > 25 (4 classes), medium 5-25 (3), few < 5 (3). Test sets: the
# balanced one (50 per class) and forward long tails (the paper's Table 4).
_base_ = ['./digitslt_bs64.py']

train_dataloader = dict(batch_size=16, dataset=dict(imbalance_ratio=100))
val_dataloader = dict(dataset=dict(train_imbalance_ratio=100))
val_evaluator = dict(many_thr=25, few_thr=5)

test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict(
    test_sets=dict(
        _delete_=True,
        balanced=dict(imbalance_ratio=1),
        ib100=dict(imbalance_ratio=100),
        ib50=dict(imbalance_ratio=50),
        ib10=dict(imbalance_ratio=10),
    ))
