# xERM-TDE on ImageNet-LT: ResNeXt-50 32x4d, the TDE recipe (90 epochs
# cosine, batch 256, lr 0.1, weight decay 5e-4 as the teacher), gamma 1.5.
#   tools/train.py configs/tde/tde_resnext50_1xb256-90e_imagenetlt.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-tde_resnext50.py',
    '../_base_/datasets/imagenetlt_bs256.py',
    '../_base_/schedules/imagenetlt-tde_bs256_90e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's TDE config, on the last checkpoint of its TDE
# run (in tools/train.py's default work dir).
recipe = 'resnext50_1xb256-90e_imagenetlt'
teacher_config = f'xerm_mm::tde/tde_{recipe}.py'
teacher_checkpoint = (f'work_dirs/tde_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
