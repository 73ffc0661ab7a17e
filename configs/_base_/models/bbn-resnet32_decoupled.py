# Decoupling (Kang et al., ICLR 2020; docs/methods.md): the XE network of a
# recipe, all of it loaded from the XE checkpoint (model.init_cfg, applied
# after the parts' own initialisation) and frozen, the backbone by
# frozen_stages=4 (no gradient and eval mode, so its BatchNorm statistics
# stay), the XE classifier `head.fc` by the head. A recipe sets the head
# (CRTHead: a new classifier; LWSHead: a scale per class), the checkpoint
#   model.init_cfg.checkpoint=work_dirs/xe_{recipe}/epoch_N.pth
# and class-balanced sampling (xerm_mm.ClassBalancedSampler).
_base_ = ['./bbn-resnet32_linear.py']

model = dict(
    backbone=dict(frozen_stages=4),
    init_cfg=dict(type='Pretrained', checkpoint=''))
