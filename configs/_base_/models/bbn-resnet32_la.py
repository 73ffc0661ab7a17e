# Logit-adjusted loss (Menon et al., ICLR 2021; docs/methods.md): the XE
# network trained on CE(z + tau * log prior_train, y). Its raw logits z are
# the balanced view (what it predicts with), z + tau * log prior_train the
# imbalanced one (LogitAdjustedHead). The training class counts come from
# the dataset (SetTrainClassCountsHook) and are saved in checkpoints as the
# loss's buffer. Balanced Softmax and LADE swap the loss (bbn-resnet32_bs.py,
# bbn-resnet32_lade.py).
_base_ = ['./bbn-resnet32_linear.py']

model = dict(
    head=dict(
        type='xerm_mm.LogitAdjustedHead',
        predict_view='balanced',
        loss=dict(type='xerm_mm.LogitAdjustedLoss', tau=1.0, _delete_=True)))
custom_hooks = [dict(type='xerm_mm.SetTrainClassCountsHook')]
