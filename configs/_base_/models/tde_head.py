# The TDE head (Tang et al., NeurIPS 2020; docs/methods.md), CIFAR settings,
# merged onto a linear-head model config (its num_classes, in_channels and loss
# are kept), as bbn-resnet32_tde.py and xerm-tde_bbn-resnet32.py do:
#   _base_ = [XE_CONFIG, '../_base_/models/tde_head.py']
#   model = dict(head={{_base_.tde_head}})
tde_head = dict(
    type='xerm_mm.TDEHead',
    num_heads=2,
    tau=16.0,
    gamma=1. / 32,
    alpha=1.5,
    momentum=0.9,
    lr_dependent_momentum=False,
    predict_view='balanced')
# Only acts with lr_dependent_momentum=True (mu = 1 - 0.1 * min(50 lr, 1)).
custom_hooks = [dict(type='xerm_mm.TDEMomentumHook')]
