# Balanced Softmax (Ren et al., NeurIPS 2020; docs/methods.md): the
# logit-adjusted network of bbn-resnet32_la.py with tau 1, i.e. trained on
# CE(z + log prior_train, y); z is its balanced view.
_base_ = ['./bbn-resnet32_la.py']

model = dict(
    head=dict(loss=dict(type='xerm_mm.BalancedSoftmaxLoss', _delete_=True)))
