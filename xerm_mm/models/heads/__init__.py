from .crt_head import CRTHead
from .decoupled_head import DecoupledClsHead
from .logit_adjusted_head import LogitAdjustedHead
from .lws_head import LWSHead
from .pc_head import PCHead
from .ride_head import RIDEHead
from .tau_norm_head import TauNormHead, tau_normalised_weight
from .tde_head import TDEHead
from .two_view_head import VIEWS, TwoViewClsHead, check_view

__all__ = [
    'CRTHead', 'DecoupledClsHead', 'LWSHead', 'TauNormHead',
    'tau_normalised_weight', 'LogitAdjustedHead', 'PCHead', 'RIDEHead',
    'TDEHead', 'TwoViewClsHead', 'VIEWS', 'check_view'
]
