from .ride_xerm_classifier import RIDEXERMClassifier
from .xerm_classifier import XERMClassifier, load_teacher_checkpoint

__all__ = ['XERMClassifier', 'RIDEXERMClassifier', 'load_teacher_checkpoint']
