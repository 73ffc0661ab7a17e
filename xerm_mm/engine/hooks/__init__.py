from .tde_momentum_hook import TDEMomentumHook
from .train_class_counts_hook import SetTrainClassCountsHook

__all__ = ['SetTrainClassCountsHook', 'TDEMomentumHook']
