# PC on Places365-LT: the XE network of places365lt_linear.py predicting
# with logits - log(prior_train) (the head of pc_head.py).
_base_ = ['./places365lt_linear.py', './pc_head.py']

model = dict(head=_base_.pc_head)
