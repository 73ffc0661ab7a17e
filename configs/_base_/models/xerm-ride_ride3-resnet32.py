# The xERM-RIDE student with 3 experts (xerm-ride_ride2-resnet32.py).
_base_ = ['./xerm-ride_ride2-resnet32.py']

num_experts = 3
model = dict(
    backbone=dict(num_experts=num_experts),
    head=dict(num_experts=num_experts, in_channels=num_experts * 48))
