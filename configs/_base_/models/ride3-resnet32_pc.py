# RIDE with 3 experts (ride2-resnet32_pc.py with a third expert).
_base_ = ['./ride2-resnet32_pc.py']

num_experts = 3
model = dict(
    backbone=dict(num_experts=num_experts),
    head=dict(num_experts=num_experts, in_channels=num_experts * 48))
