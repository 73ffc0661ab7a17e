# xERM over a LWS (Decoupling) teacher on CIFAR100-LT IB 100.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
#   tools/train.py \
#       configs/decoupling/lws_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-balanced_bbn-resnet32.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's LWS config, on the last checkpoint of its run
# (the 2-epoch scale stage; tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
teacher_config = f'xerm_mm::decoupling/lws_{recipe}.py'
teacher_checkpoint = f'work_dirs/lws_{recipe}/epoch_2.pth'
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
