# Decoupling's cRT: a new linear classifier retrained with class-balanced
# sampling on the frozen XE network of CIFAR100-LT IB 100
# (the 200-epoch XE recipe, the paper's: docs/configs.md, Schedules);
# 10 epochs as Kang et al.'s cRT. Train the XE model first:
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.init_cfg.checkpoint=PATH]
_base_ = [
    '../_base_/models/bbn-resnet32_crt.py',
    '../_base_/datasets/cifar100lt_bs128_class-balanced.py',
    '../_base_/schedules/linear_bs128_10e.py',
    '../_base_/default_runtime.py',
]

# The XE model of this recipe: the last checkpoint of its run (in
# tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb128-200e_cifar100lt-ib100'
xe_checkpoint = f'work_dirs/xe_{recipe}/epoch_200.pth'
model = dict(init_cfg=dict(checkpoint=xe_checkpoint))
