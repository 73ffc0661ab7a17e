# xERM-PC on the embedded long-tailed digits.
# 16 epochs at IB 100: the offline demo (`make demo`, CPU, minutes).
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb16-16e_digitslt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# The PC teacher needs no training of its own: its checkpoint is the XE one
# (XERMTeacherHook sets the teacher's training class counts from the dataset).
_base_ = [
    '../_base_/models/xerm-pc_bbn-resnet32.py',
    '../_base_/datasets/digitslt-ib100_bs16.py',
    '../_base_/schedules/digitslt_bs16_16e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's PC config, on the last checkpoint of its XE
# run (in tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb16-16e_digitslt-ib100'
teacher_config = f'xerm_mm::pc/pc_{recipe}.py'
teacher_checkpoint = (f'work_dirs/xe_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    head=dict(num_classes=10),
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
default_hooks = dict(logger=dict(interval=10))
