# The TDE head on the large benchmarks (ImageNet-LT, Places365-LT,
# iNaturalist 2018): tde_head.py with the moving-average momentum set from
# the learning rate each epoch, mu = 1 - 0.1 * min(50 * lr, 1) (Tang et al.,
# NeurIPS 2020; docs/methods.md, TDE), by TDEMomentumHook with the lr of
# the head's own parameters. A dataset's model base sets its alpha:
#   _base_ = [XE_NETWORK, './tde_head_lt.py']
#   model = dict(head=dict(_base_.tde_head, alpha=ALPHA))
_base_ = ['./tde_head.py']

tde_head = dict(lr_dependent_momentum=True)
