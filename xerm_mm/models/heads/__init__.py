from .pc_head import PCHead
from .tde_head import TDEHead

__all__ = ['PCHead', 'TDEHead']
