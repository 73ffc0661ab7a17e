# xERM-TDE on CIFAR100-LT IB 100.
# 200 epochs: the paper's recipe (docs/configs.md, Schedules).
#   tools/train.py configs/tde/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-tde_bbn-resnet32.py',
    '../_base_/datasets/cifar100lt_bs128.py',
    '../_base_/schedules/cifar_bs128_200e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's TDE config, on the last checkpoint of its TDE
# run (in tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb128-200e_cifar100lt-ib100'
teacher_config = f'xerm_mm::tde/tde_{recipe}.py'
teacher_checkpoint = (f'work_dirs/tde_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
# The student keeps the schedule's weight decay (5e-4), as the authors'
# xERM-TDE code does (docs/results.md: 200 epochs with it and with the
# 1e-4 of the other CIFAR students, xerm_weight_decay).
