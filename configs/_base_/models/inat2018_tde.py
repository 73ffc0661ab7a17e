# TDE on iNaturalist 2018: the network of inat2018_linear.py with the
# causal-norm head of tde_head_lt.py on the 2048-d feature (K = 2, tau 16,
# gamma 1/32), alpha 3.0. The xERM and TDE authors published no iNaturalist
# configuration; 3.0 is the alpha of the PC / LADE authors' TDE
# configuration on iNaturalist18 (github.com/hyperconnect/LADE,
# config/iNaturalist18/causal.yaml), as on ImageNet-LT.
_base_ = ['./inat2018_linear.py', './tde_head_lt.py']

model = dict(head=dict(_base_.tde_head, alpha=3.0))
