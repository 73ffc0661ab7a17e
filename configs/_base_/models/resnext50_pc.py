# PC on ImageNet-LT: the ResNeXt-50 32x4d XE network predicting with
# logits - log(prior_train) (the head of pc_head.py).
_base_ = ['./resnext50_linear.py', './pc_head.py']

model = dict(head=_base_.pc_head)
