# xERM-PC on Places365-LT: ImageNet-pretrained ResNet-50, 30 epochs (x 0.1
# every 10), batch 256 on one device (total batch: auto_scale_lr), lr 0.01 for
# the backbone and 0.1 for the classifier, weight decay 5e-4 (as the teacher).
#   tools/train.py configs/xe/xe_resnet50_1xb256-30e_places365lt.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# The PC teacher needs no training of its own: its checkpoint is the XE one
# (XERMTeacherHook sets the teacher's training class counts from the dataset).
# The student starts from the teacher's weights: no ImageNet file needed.
_base_ = [
    '../_base_/models/xerm-pc_places365lt.py',
    '../_base_/models/resnet_backbones.py',
    '../_base_/datasets/places365lt_bs256.py',
    '../_base_/schedules/places365lt_bs256_30e.py',
    '../_base_/default_runtime.py',
]

# The teacher: this recipe's PC config, on the last checkpoint of its
# XE run (in tools/train.py's default work dir).
recipe = 'resnet50_1xb256-30e_places365lt'
teacher_config = f'xerm_mm::pc/pc_{recipe}.py'
teacher_checkpoint = (f'work_dirs/xe_{recipe}/epoch_'
                      f'{_base_.train_cfg.max_epochs}.pth')
model = dict(
    backbone=dict(_base_.backbones.resnet50_in1k, init_cfg=None),
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
