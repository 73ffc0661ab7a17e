# xERM-TDE on iNaturalist 2018: ResNet-50 from scratch, 90 epochs cosine, batch
# 256 on one device (total batch: auto_scale_lr), lr 0.1, weight decay 1e-4 (as
# the teacher).
#   tools/train.py configs/tde/tde_resnet50_1xb256-90e_inat2018.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = [
    '../_base_/models/xerm-tde_inat2018.py',
    '../_base_/datasets/inat2018_bs256.py',
    '../_base_/schedules/inat2018_bs256_90e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's TDE config, on the last checkpoint of its
# TDE run (in tools/train.py's default work dir).
recipe = 'resnet50_1xb256-90e_inat2018'
teacher_config = f'xerm_mm::tde/tde_{recipe}.py'
teacher_checkpoint = (f'work_dirs/tde_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
