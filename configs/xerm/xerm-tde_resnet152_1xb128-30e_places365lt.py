# xERM-TDE on Places365-LT: ImageNet-pretrained ResNet-152, 30 epochs (x 0.1
# every 10), batch 128 on one device (total batch: auto_scale_lr), lr 0.01 for
# the backbone and 0.1 for the classifier, weight decay 5e-4 (as the teacher).
#   tools/train.py configs/tde/tde_resnet152_1xb128-30e_places365lt.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# The ImageNet weights are read from a local file before training
# (_base_/models/resnet_backbones.py says where to get them; another file:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH).
_base_ = [
    '../_base_/models/xerm-tde_places365lt.py',
    '../_base_/models/resnet_backbones.py',
    '../_base_/datasets/places365lt_bs128.py',
    '../_base_/schedules/places365lt_bs128_30e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's TDE config, on the last checkpoint of its
# TDE run (in tools/train.py's default work dir).
recipe = 'resnet152_1xb128-30e_places365lt'
teacher_config = f'xerm_mm::tde/tde_{recipe}.py'
teacher_checkpoint = (f'work_dirs/tde_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    backbone=_base_.backbones.resnet152_in1k,
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
