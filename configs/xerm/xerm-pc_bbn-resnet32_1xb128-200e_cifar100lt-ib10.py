# xERM-PC on CIFAR100-LT IB 10: xerm-pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py
# with the IB 10 training split and the IB 10 teacher.
_base_ = ['./xerm-pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py']

teacher_config = (
    'xerm_mm::pc/pc_bbn-resnet32_1xb128-200e_cifar100lt-ib10.py')
teacher_checkpoint = (
    'work_dirs/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib10/epoch_200.pth')

model = dict(teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
train_dataloader = dict(dataset=dict(imbalance_ratio=10))
val_dataloader = dict(dataset=dict(train_imbalance_ratio=10))
test_dataloader = val_dataloader
