from .lade_loss import LADELoss, lade_regulariser
from .logit_adjusted_loss import (BalancedSoftmaxLoss, LogitAdjustedLoss,
                                  logit_adjusted_cross_entropy)
from .xerm_loss import XERMLoss, XERMLossOutput, xerm_loss, xerm_weights

__all__ = [
    'BalancedSoftmaxLoss', 'LADELoss', 'LogitAdjustedLoss', 'XERMLoss',
    'XERMLossOutput', 'lade_regulariser', 'logit_adjusted_cross_entropy',
    'xerm_loss', 'xerm_weights'
]
