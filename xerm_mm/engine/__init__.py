from .autocast_optim_wrapper import AutocastOptimWrapper
from .deferred_figure_visualizer import DeferredFigureVisualizer
from .hooks import *  # noqa: F401,F403
from .multi_test_loop import MultiTestLoop
from .per_set_outputs import PerSetDumpResults, PerSetVisualizationHook
from .runner import XERMRunner

__all__ = [
    'AutocastOptimWrapper', 'DeferredFigureVisualizer', 'MultiTestLoop',
    'PerSetDumpResults', 'PerSetVisualizationHook', 'XERMRunner'
]
