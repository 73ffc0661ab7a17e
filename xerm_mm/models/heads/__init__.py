from .pc_head import PCHead
from .tde_head import TDEHead
from .two_view_head import VIEWS, TwoViewClsHead, check_view

__all__ = ['PCHead', 'TDEHead', 'TwoViewClsHead', 'VIEWS', 'check_view']
