# The RIDE teacher's schedule of the xERM authors' release (github.com/
# BeierZhu/xERM, xERM.RIDE.public, cifar100_ERM_*experts.json), batch 128:
# SGD lr 0.1, Nesterov momentum 0.9, weight decay 5e-4; warm-up lr x (e + 1)
# / 5 in epochs e = 0..4 (stepped per epoch, as their LambdaLR); lr x 0.01
# at epochs 160 and 180; 200 epochs.
_base_ = ['./cifar_bs128_200e.py']

optim_wrapper = dict(optimizer=dict(nesterov=True, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0, end=5),
    dict(
        type='MultiStepLR', by_epoch=True, milestones=[160, 180],
        gamma=0.01),
]
