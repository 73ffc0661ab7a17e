"""Numbers and figures of the analysis tools (``tools/analysis_tools``).

The tools read what ``tools/test.py`` writes (the metrics JSON) or run it;
this package holds what they share: reading a metrics file
(:mod:`.metrics_file`), the numbers plotted (:mod:`.prediction_counts`,
:mod:`.sweep_sets`), the drawings (:mod:`.histogram_plot`,
:mod:`.sweep_plot`; the histogram figure of several models:
:mod:`.prediction_histogram`) and saving a figure with its numbers
(:mod:`.figures`), and the tools' common options (:mod:`.cli`). The tools
that run a model build it with its test set (:mod:`.trained_model`) and read its features
(:mod:`.features`) or Grad-CAMs (:mod:`.grad_cam`), drawn by
:mod:`.tsne_plot` and :mod:`.cam_plot`; the feature study's table is
:mod:`.feature_study`.
"""
from .figures import new_figure, save_figure
from .histogram_plot import draw_prediction_histograms
from .metrics_file import load_metrics, test_set_rows
from .prediction_counts import class_order, group_counts, sorted_counts
from .prediction_histogram import prediction_histogram_figure
from .sweep_plot import draw_sweep_curve
from .sweep_sets import SweepSet, sweep_sets

__all__ = [
    'new_figure', 'save_figure', 'draw_prediction_histograms',
    'load_metrics', 'test_set_rows', 'class_order', 'group_counts',
    'sorted_counts', 'prediction_histogram_figure', 'draw_sweep_curve',
    'SweepSet', 'sweep_sets'
]
