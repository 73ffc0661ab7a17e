# PC (post-compensation; Hong et al., CVPR 2021; docs/methods.md): the XE
# network, predicting with logits - log(prior_train) (+ log of a uniform test
# prior); the head of pc_head.py.
_base_ = ['./bbn-resnet32_linear.py', './pc_head.py']

model = dict(head=_base_.pc_head)
