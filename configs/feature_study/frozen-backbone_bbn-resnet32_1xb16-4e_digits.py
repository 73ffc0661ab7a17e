# Feature study (the xERM paper's Table 6) on the embedded digits (the offline
# demo's size, CPU, seconds): the backbone of a model trained on DigitsLT
# IB 100 (configs/*/..._1xb16-16e_digitslt-ib100.py), frozen; a linear
# classifier retrained on the balanced training split (124 images of every
# digit), tested on the balanced test split (groups of the IB 100 training).
#   tools/analysis_tools/feature_study.py --config THIS_CONFIG \
#       --model XE work_dirs/demo/xe/epoch_16.pth --model ... --work-dir DIR
_base_ = [
    '../_base_/models/bbn-resnet32_frozen-linear.py',
    '../_base_/datasets/digitslt-ib100_bs16.py',
    '../_base_/schedules/linear_bs128_10e.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
train_dataloader = dict(dataset=dict(imbalance_ratio=1))
test_cfg = dict(
    test_sets=dict(_delete_=True, balanced=dict(imbalance_ratio=1)))
# lr 0.01: the digits features are large (1-epoch backbones diverged at 0.05).
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs=4, val_interval=4)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=20))
