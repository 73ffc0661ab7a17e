from .xerm_loss import XERMLoss, XERMLossOutput, xerm_loss, xerm_weights

__all__ = ['XERMLoss', 'XERMLossOutput', 'xerm_loss', 'xerm_weights']
