# LADE (Hong et al., CVPR 2021; docs/methods.md): the logit-adjusted network
# of bbn-resnet32_la.py trained on PriorCE (= Balanced Softmax) + 0.1 * the
# LADE term (ReMINE lambda 0.1), the authors' CIFAR-100-LT weights. At test
# time z is the balanced view (z + log prior_test for another test prior).
_base_ = ['./bbn-resnet32_la.py']

model = dict(
    head=dict(
        loss=dict(
            type='xerm_mm.LADELoss',
            lade_weight=0.1,
            remine_lambda=0.1,
            _delete_=True)))
