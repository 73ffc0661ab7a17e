from .xerm_classifier import XERMClassifier, load_teacher_checkpoint

__all__ = ['XERMClassifier', 'load_teacher_checkpoint']
