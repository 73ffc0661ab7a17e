from .lade_loss import LADELoss, lade_regulariser
from .logit_adjusted_loss import (BalancedSoftmaxLoss, LogitAdjustedLoss,
                                  logit_adjusted_cross_entropy)
from .ride_loss import RIDELoss, ldam_margins
from .ride_xerm_loss import RIDEXERMLoss
from .xerm_loss import XERMLoss, XERMLossOutput, xerm_loss, xerm_weights

__all__ = [
    'BalancedSoftmaxLoss', 'LADELoss', 'LogitAdjustedLoss', 'RIDELoss',
    'RIDEXERMLoss', 'XERMLoss', 'XERMLossOutput', 'lade_regulariser',
    'ldam_margins', 'logit_adjusted_cross_entropy', 'xerm_loss',
    'xerm_weights'
]
