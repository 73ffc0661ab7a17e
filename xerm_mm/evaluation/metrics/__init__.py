from .long_tail import LongTailMetric

__all__ = ['LongTailMetric']
