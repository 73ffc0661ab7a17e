# The feature study (the xERM paper's Table 6; docs/analysis.md): the XE
# network with its backbone loaded from a trained model's checkpoint and
# frozen, and a new plain linear classifier, the only part trained (for TDE
# and xERM-TDE backbones too: "retrain only the classifier").
# mmpretrain's linear-evaluation idiom:
# - frozen_stages=4 freezes the stem, layer1..3 and the two branches (every
#   stage of BBN-ResNet-32): no gradient, and eval mode in training, so the
#   BatchNorm running statistics do not change either;
# - init_cfg loads the `backbone.` weights of a classifier checkpoint (XE,
#   PC, TDE, xERM-PC or xERM-TDE: an xERM checkpoint holds only its student,
#   under the same keys). Give it with
#     --cfg-options model.backbone.init_cfg.checkpoint=CKPT
#   (tools/analysis_tools/feature_study.py does, after checking that the
#   checkpoint's backbone fits).
_base_ = ['./bbn-resnet32_linear.py']

model = dict(
    backbone=dict(
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
