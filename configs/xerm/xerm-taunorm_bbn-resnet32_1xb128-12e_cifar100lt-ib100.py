# xERM over a tau-norm (Decoupling) teacher on CIFAR100-LT IB 100.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-taunorm_bbn-resnet32.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]

# The teacher: the tau-norm network (configs/decoupling/taunorm_{recipe}.py)
# on this recipe's XE checkpoint; set the chosen tau with
#   --cfg-options model.teacher.config.head.tau=TAU
recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
teacher_checkpoint = f'work_dirs/xe_{recipe}/epoch_12.pth'
model = dict(
    teacher=dict(config=dict(data_preprocessor=_base_.data_preprocessor),
                 checkpoint=teacher_checkpoint))
optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
