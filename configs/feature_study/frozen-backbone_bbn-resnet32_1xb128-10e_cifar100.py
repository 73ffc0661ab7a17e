# Feature study (the xERM paper's Table 6) on CIFAR-100: the backbone of a
# model trained on CIFAR100-LT IB 100 (XE, PC, TDE, xERM-PC or xERM-TDE),
# frozen; a linear classifier retrained on the balanced full training set
# (50,000 images), tested on the balanced test set.
#   tools/analysis_tools/feature_study.py --config THIS_CONFIG \
#       --model XE W/xe/epoch_12.pth --model xERM-TDE W/xerm_tde/epoch_12.pth \
#       --data-root ../shared/data/cifar100 --work-dir W/feature_study
# or, for one backbone: tools/train.py THIS_CONFIG
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT
_base_ = [
    '../_base_/models/bbn-resnet32_frozen-linear.py',
    '../_base_/datasets/cifar100_bs128.py',
    '../_base_/schedules/linear_bs128_10e.py',
    '../_base_/default_runtime.py',
]
