# xERM-RIDE-PC with 3 experts on CIFAR100-LT IB 100 (configs/ride/README.md).
# 12 epochs: a short schedule for CPU runs (not paper numbers).
#   tools/train.py configs/ride/ride-pc_ride3-resnet32_1xb128-12e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-ride_ride3-resnet32.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's RIDE-PC config, on the last checkpoint of its
# run (in tools/train.py's default work dir).
recipe = 'ride3-resnet32_1xb128-12e_cifar100lt-ib100'
teacher_config = f'xerm_mm::ride/ride-pc_{recipe}.py'
teacher_checkpoint = (f'work_dirs/ride-pc_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))

# The authors' student optimiser (Nesterov, weight decay 2e-4) on the short
# schedule.
optim_wrapper = dict(optimizer=dict(nesterov=True, weight_decay=2e-4))
