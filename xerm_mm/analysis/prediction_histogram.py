"""The prediction-histogram figure (the paper's Figure 1) of several models.

What ``tools/analysis_tools/prediction_histogram.py`` and a pipeline's
report draw from metrics files: a histogram per model on one test set, and
the true / false positives of the few-shot and the many-shot classes.
"""
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Tuple

from matplotlib.figure import Figure

from .figures import draw_prediction_histograms
from .prediction_counts import group_counts, sorted_counts


def _check_set(sets: Mapping, test_set: str, model: str,
               source: Optional[str], option: str) -> None:
    """KeyError naming the model, its file and the option to change."""
    if test_set not in sets:
        where = f'{source!r} ({model})' if source else f'model {model!r}'
        raise KeyError(f'{where} has no test set {test_set!r}; it has '
                       f'{list(sets)} (choose one with {option})')


def prediction_histogram_figure(
        rows: Mapping[str, Mapping[str, Dict]],
        test_set: str,
        imbalanced_set: Optional[str],
        metrics_files: Optional[Mapping[str, str]] = None
) -> Tuple[Figure, 'OrderedDict[str, object]']:
    """The figure of ``rows`` and the numbers it plots.

    Args:
        rows (Mapping): ``{model: {test set: metrics}}``, each set's metrics
            with the ``per_class_*`` lists of LongTailMetric (see
            :func:`~.metrics_file.test_set_rows`), in panel order.
        test_set (str): The set of the histograms and the few-shot bars.
        imbalanced_set (str, optional): The set of the many-shot bars (None:
            no such bars).
        metrics_files (Mapping, optional): ``{model: file}`` the rows were
            read from, named in errors and kept in the numbers.

    Returns:
        tuple: The figure (to save with :func:`~.figures.save_figure`) and
        its numbers: the sets, and per model its metrics file, top-1 on
        ``test_set``, the per-class counts in plotted order and the group
        counts of every set.

    Raises:
        KeyError: A model lacks ``test_set`` or ``imbalanced_set``.
    """
    files = metrics_files or {}
    for model, sets in rows.items():
        _check_set(sets, test_set, model, files.get(model), '--test-set')
        if imbalanced_set is not None:
            _check_set(sets, imbalanced_set, model, files.get(model),
                       '--imbalanced-set')
    models = OrderedDict()
    for model, sets in rows.items():
        models[model] = OrderedDict(
            metrics_file=files.get(model),
            top1=sets[test_set]['top1'],
            counts=sorted_counts(sets[test_set]),
            groups=OrderedDict((name, group_counts(row))
                               for name, row in sets.items()))
    panels = [('few', test_set)]
    if imbalanced_set is not None:
        panels.append(('many', imbalanced_set))
    bars = [(f'{group}-shot classes\non {name}',
             {model: numbers['groups'][name][group]
              for model, numbers in models.items()})
            for group, name in panels]
    fig = draw_prediction_histograms(models, test_set, bars)
    numbers = OrderedDict(
        test_set=test_set,
        imbalanced_set=imbalanced_set,
        tp_fp_panels=[dict(group=g, test_set=s) for g, s in panels],
        models=models)
    return fig, numbers
