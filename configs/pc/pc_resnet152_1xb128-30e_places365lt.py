# PC (post-compensation) on Places365-LT: ImageNet-pretrained ResNet-152, 30
# epochs (x 0.1 every 10), batch 128 on one device (total batch:
# auto_scale_lr), lr 0.01 for the backbone and 0.1 for the classifier, weight
# decay 5e-4.
# It needs no training of its own: test an XE checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_resnet152_1xb128-30e_places365lt/epoch_30.pth
_base_ = [
    '../_base_/models/places365lt_pc.py',
    '../_base_/models/resnet_backbones.py',
    '../_base_/datasets/places365lt_bs128.py',
    '../_base_/schedules/places365lt_bs128_30e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=_base_.backbones.resnet152_in1k)
