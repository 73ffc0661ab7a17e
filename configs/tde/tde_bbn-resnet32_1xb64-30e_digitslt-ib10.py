# TDE (reference.md section 4) on the embedded long-tailed digits: a
# causal-norm classifier trained with XE on its TE logits; it predicts with
# the counterfactual TDE logits (balanced view). The CIFAR settings
# (tau 16, K 2, alpha 1.5, mu 0.9). --cfg-options
# model.head.predict_view=imbalanced predicts with TE.
_base_ = ['../xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py']

model = dict(
    head=dict(
        _delete_=True,
        type='TDEHead',
        num_classes=10,
        in_channels=128,
        num_heads=2,
        tau=16.0,
        gamma=1. / 32,
        alpha=1.5,
        momentum=0.9,
        lr_dependent_momentum=False,
        predict_view='balanced',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
# Only acts with lr_dependent_momentum=True (mu = 1 - 0.1 * min(50 lr, 1)).
custom_hooks = [dict(type='TDEMomentumHook')]
