# The PC head (post-compensation; Hong et al., CVPR 2021; docs/methods.md),
# merged onto a linear-head model config (its num_classes, in_channels and
# loss are kept):
#   _base_ = [XE_NETWORK, './pc_head.py']
#   model = dict(head=_base_.pc_head)
# It predicts with logits - log(prior_train) (+ log of a uniform test prior).
# The training class counts come from the dataset (SetTrainClassCountsHook)
# and are saved in checkpoints as the head's buffer.
pc_head = dict(type='xerm_mm.PCHead', predict_view='balanced')
custom_hooks = [dict(type='xerm_mm.SetTrainClassCountsHook')]
