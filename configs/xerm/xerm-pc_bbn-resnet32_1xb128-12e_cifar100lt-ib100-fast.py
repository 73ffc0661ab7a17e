# xERM-PC on CIFAR100-LT IB 100 on the fast path (docs/configs.md,
# "Fast path"): batches fetched whole and augmented on the training
# device; otherwise xerm-pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py.
# 12 epochs: a short schedule for CPU runs (not paper numbers).
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# The PC teacher needs no training of its own: its checkpoint is the XE one
# (XERMTeacherHook sets the teacher's training class counts from the dataset).
_base_ = [
    '../_base_/models/xerm-pc_bbn-resnet32.py',
    '../_base_/datasets/cifar100lt_bs128_fast.py',
    '../_base_/schedules/cifar_bs128_short.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's PC config, on the last checkpoint of its XE
# run (in tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast'
teacher_config = f'xerm_mm::pc/pc_{recipe}.py'
teacher_checkpoint = (f'work_dirs/xe_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
