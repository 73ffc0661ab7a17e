# xERM-PC on ImageNet-LT: ResNeXt-50 32x4d, the XE recipe (90 epochs cosine,
# batch 256, lr 0.05, weight decay 5e-4 as the teacher: the authors'
# configuration), gamma 1.5.
#   tools/train.py configs/xe/xe_resnext50_1xb256-90e_imagenetlt.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# The PC teacher needs no training of its own: its checkpoint is the XE one
# (XERMTeacherHook sets the teacher's training class counts from the dataset).
_base_ = [
    '../_base_/models/xerm-pc_resnext50.py',
    '../_base_/datasets/imagenetlt_bs256.py',
    '../_base_/schedules/imagenetlt_bs256_90e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's PC config, on the last checkpoint of its XE
# run (in tools/train.py's default work dir).
recipe = 'resnext50_1xb256-90e_imagenetlt'
teacher_config = f'xerm_mm::pc/pc_{recipe}.py'
teacher_checkpoint = (f'work_dirs/xe_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
