from .logit_adjusted_head import LogitAdjustedHead
from .pc_head import PCHead
from .ride_head import RIDEHead
from .tde_head import TDEHead
from .two_view_head import VIEWS, TwoViewClsHead, check_view

__all__ = [
    'LogitAdjustedHead', 'PCHead', 'RIDEHead', 'TDEHead', 'TwoViewClsHead',
    'VIEWS', 'check_view'
]
