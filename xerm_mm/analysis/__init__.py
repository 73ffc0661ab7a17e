"""What the analysis tools and a pipeline's report share.

Reading metrics files, the numbers and drawings of the figures, the tools'
options and the trained models they run; a tool's own logic lives in the
tool (``tools/analysis_tools``). See docs/analysis.md.
"""
from .figures import (draw_prediction_histograms, draw_sweep_curve,
                      new_figure, save_figure)
from .metrics_file import load_metrics, test_set_rows
from .prediction_counts import class_order, group_counts, sorted_counts
from .prediction_histogram import prediction_histogram_figure
from .sweep_sets import SweepSet, sweep_sets

__all__ = [
    'new_figure', 'save_figure', 'draw_prediction_histograms',
    'draw_sweep_curve', 'load_metrics', 'test_set_rows', 'class_order',
    'group_counts', 'sorted_counts', 'prediction_histogram_figure',
    'SweepSet', 'sweep_sets'
]
