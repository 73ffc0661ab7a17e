# PC (post-compensation, reference.md section 3) on the embedded long-tailed
# digits: the XE network, predicting with logits - log(prior_train) (+ log of
# a uniform test prior). It needs no training of its own: test an XE
# checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_bbn-resnet32_1xb64-30e_digitslt-ib10/epoch_30.pth
# The training class counts come from the dataset (SetTrainClassCountsHook)
# and are saved in checkpoints as the head's buffer.
_base_ = ['../xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py']

model = dict(head=dict(type='PCHead', predict_view='balanced'))
custom_hooks = [dict(type='SetTrainClassCountsHook')]
