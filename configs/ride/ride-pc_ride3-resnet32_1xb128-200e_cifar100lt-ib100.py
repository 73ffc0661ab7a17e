# RIDE-PC with 3 experts on CIFAR100-LT IB 100 (configs/ride/README.md).
# 200 epochs: the authors' recipe (their release, xERM.RIDE.public).
#   tools/train.py THIS_CONFIG
# It predicts with PC (tau 2); the plain averaged logits with
#   --cfg-options model.head.predict_view=imbalanced
_base_ = [
    '../_base_/models/ride3-resnet32_pc.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/ride_bs128_200e.py',
    '../_base_/default_runtime.py',
]
