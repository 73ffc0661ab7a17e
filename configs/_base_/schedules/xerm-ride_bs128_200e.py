# The xERM-RIDE student's schedule of the authors' release
# (cifar100_xERM_*experts.json): the teacher's (ride_bs128_200e.py) with
# weight decay 2e-4 and lr x 0.01 at epochs 120 and 160.
_base_ = ['./ride_bs128_200e.py']

optim_wrapper = dict(optimizer=dict(weight_decay=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0, end=5),
    dict(
        type='MultiStepLR', by_epoch=True, milestones=[120, 160],
        gamma=0.01),
]
