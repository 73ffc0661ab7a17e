from .ride_loss import RIDELoss, ldam_margins
from .ride_xerm_loss import RIDEXERMLoss
from .xerm_loss import XERMLoss, XERMLossOutput, xerm_loss, xerm_weights

__all__ = [
    'XERMLoss', 'XERMLossOutput', 'xerm_loss', 'xerm_weights', 'RIDELoss',
    'RIDEXERMLoss', 'ldam_margins'
]
