# PC (post-compensation, reference.md section 3): the XE network, predicting
# with logits - log(prior_train) (+ log of a uniform test prior). It needs no
# training of its own: test an XE checkpoint with this config,
#   tools/test.py THIS_CONFIG work_dirs/xe_..._cifar100lt-ib100/epoch_N.pth
# The training class counts come from the dataset (SetTrainClassCountsHook)
# and are saved in checkpoints as the head's buffer.
_base_ = ['../xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py']

model = dict(head=dict(type='PCHead', predict_view='balanced'))
custom_hooks = [dict(type='SetTrainClassCountsHook')]
