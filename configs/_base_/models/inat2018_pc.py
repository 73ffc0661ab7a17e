# PC on iNaturalist 2018: the XE network of inat2018_linear.py predicting
# with logits - log(prior_train) (the head of pc_head.py).
_base_ = ['./inat2018_linear.py', './pc_head.py']

model = dict(head=_base_.pc_head)
