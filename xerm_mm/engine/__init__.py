from .autocast_optim_wrapper import AutocastOptimWrapper
from .hooks import *  # noqa: F401,F403
from .multi_test_loop import MultiTestLoop
from .per_set_outputs import PerSetDumpResults, PerSetVisualizationHook
from .runner import XERMRunner

__all__ = [
    'AutocastOptimWrapper', 'MultiTestLoop', 'PerSetDumpResults',
    'PerSetVisualizationHook', 'XERMRunner'
]
