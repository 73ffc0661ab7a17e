# RIDE-PC with 2 experts on CIFAR100-LT IB 100 (configs/ride/README.md).
# 12 epochs: a short schedule for CPU runs (not paper numbers).
#   tools/train.py THIS_CONFIG
# It predicts with PC (tau 2); the plain averaged logits with
#   --cfg-options model.head.predict_view=imbalanced
_base_ = [
    '../_base_/models/ride2-resnet32_pc.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]

# The authors' optimiser (Nesterov, weight decay 5e-4) on the short schedule.
optim_wrapper = dict(optimizer=dict(nesterov=True, weight_decay=5e-4))
