from .hooks import *  # noqa: F401,F403
from .multi_test_loop import MultiTestLoop
from .runner import XERMRunner

__all__ = ['MultiTestLoop', 'XERMRunner']
