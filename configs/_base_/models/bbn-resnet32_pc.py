# PC (post-compensation; Hong et al., CVPR 2021; docs/methods.md): the XE
# network, predicting with logits - log(prior_train) (+ log of a uniform test
# prior). The training class counts come from the dataset
# (SetTrainClassCountsHook) and are saved in checkpoints as the head's buffer.
_base_ = ['./bbn-resnet32_linear.py']

model = dict(head=dict(type='xerm_mm.PCHead', predict_view='balanced'))
custom_hooks = [dict(type='xerm_mm.SetTrainClassCountsHook')]
