# Decoupling's LWS: a scale per class of the XE classifier, learnt with
# class-balanced sampling on the frozen XE network of CIFAR100-LT IB 100
# (the 12-epoch XE recipe: a short schedule for CPU runs, not paper numbers);
# 2 epochs. Train the XE model first:
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.init_cfg.checkpoint=PATH]
_base_ = [
    '../_base_/models/bbn-resnet32_lws.py',
    '../_base_/datasets/cifar100lt_bs128_class-balanced.py',
    '../_base_/schedules/linear_bs128_10e.py',
    '../_base_/default_runtime.py',
]

# The XE model of this recipe: the last checkpoint of its run (in
# tools/train.py's default work dir).
recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
xe_checkpoint = f'work_dirs/xe_{recipe}/epoch_12.pth'
model = dict(init_cfg=dict(checkpoint=xe_checkpoint))
# The 12-epoch recipe's XE model gets a 2-epoch classifier stage (cosine).
train_cfg = dict(max_epochs=2, val_interval=2)
