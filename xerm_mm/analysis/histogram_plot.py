"""Draw the prediction histograms and the true / false positive bars.

The top row has one panel per model: the number of test images predicted as
each class (bars) against the number that are of that class (the ground
truth, a line), classes from the most to the least trained, the groups
marked. Below, one panel: per chosen (group, test set), e.g. the few-shot
classes on the balanced test set and the many-shot ones on an imbalanced
set, one stacked bar per model of its true positives (solid) and false
positives (hatched).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .figures import new_figure

#: Class ids are written under the bars up to this many classes.
MAX_LABELLED_CLASSES = 20


def _group_bounds(groups: Sequence[str]) -> List[Tuple[str, int, int]]:
    """``(group, first, last + 1)`` runs of ``groups`` (in class order)."""
    runs = []
    for i, group in enumerate(groups):
        if runs and runs[-1][0] == group:
            runs[-1] = (group, runs[-1][1], i + 1)
        else:
            runs.append((group, i, i + 1))
    return runs


def _histogram(ax, name: str, counts: Dict, top1: float, test_set: str,
               first: bool) -> None:
    """One model's predicted and ground-truth counts per class."""
    x = np.arange(len(counts['class']))
    ax.bar(x, counts['pred_count'], width=0.85, color='tab:blue',
           alpha=0.75, label='predicted')
    ax.stairs(counts['gt_count'], np.arange(len(x) + 1) - 0.5,
              baseline=None, color='black', linewidth=1.5,
              label='ground truth')
    for group, start, stop in _group_bounds(counts['group']):
        if start:
            ax.axvline(start - 0.5, color='grey', linestyle='--',
                       linewidth=0.8)
        ax.text((start + stop - 1) / 2, 1.0, group, ha='center', va='top',
                transform=ax.get_xaxis_transform(), fontsize=9,
                color='dimgrey')
    if len(x) <= MAX_LABELLED_CLASSES:
        ax.set_xticks(x, [str(c) for c in counts['class']])
        ax.set_xlabel('class (most to least trained)')
    else:
        ax.set_xlabel('class rank (most to least trained)')
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.set_ylim(0, max(max(counts['pred_count']), max(counts['gt_count'])) *
                1.15 + 1)
    ax.set_title(f'{name}: top-1 {top1:.1f} % on {test_set}', fontsize=10)
    if first:
        ax.set_ylabel('test images')
        ax.legend(loc='upper right', bbox_to_anchor=(1, 0.93), fontsize=9)


def _tp_fp(ax, bars: Sequence[Tuple[str, Dict[str, Dict]]],
           colors: Dict[str, str]) -> None:
    """Stacked TP / FP bars: a cluster per (group, set), a bar per model."""
    models = list(colors)
    width = 0.8 / len(models)
    for i, (_, per_model) in enumerate(bars):
        for j, model in enumerate(models):
            x = i + (j - (len(models) - 1) / 2) * width
            tp, fp = per_model[model]['tp'], per_model[model]['fp']
            ax.bar(x, tp, width * 0.9, color=colors[model])
            ax.bar(x, fp, width * 0.9, bottom=tp, color='white',
                   edgecolor=colors[model], hatch='///')
            ax.annotate(f'{tp} / {fp}', (x, tp + fp), ha='center',
                        va='bottom', fontsize=8, xytext=(0, 2),
                        textcoords='offset points')
    ax.set_xticks(range(len(bars)), [label for label, _ in bars])
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.margins(y=0.15)
    ax.set_ylabel('predictions')
    ax.set_title('true positives (solid) / false positives (hatched), '
                 'numbers: TP / FP', fontsize=10)
    handles = [Patch(color=colors[m], label=m) for m in models]
    handles.append(Patch(facecolor='white', edgecolor='black', hatch='///',
                         label='false positives'))
    ax.legend(handles=handles, fontsize=9, loc='upper left',
              bbox_to_anchor=(1.0, 1.0))


def draw_prediction_histograms(
        models: Dict[str, Dict], test_set: str,
        bars: Sequence[Tuple[str, Dict[str, Dict]]]) -> Figure:
    """The figure: a histogram per model above the TP / FP bars.

    Args:
        models (dict): ``{name: dict(counts=..., top1=...)}``, ``counts``
            from :func:`~.prediction_counts.sorted_counts` of ``test_set``.
        test_set (str): The test set of the histograms, for the titles.
        bars (Sequence): ``(label, {model: dict(tp=, fp=)})`` per cluster of
            the TP / FP panel, in order (empty: no such panel).

    Returns:
        Figure: The figure, to save with :func:`~.figures.save_figure`.
    """
    names = list(models)
    width = max(4.0 * len(names), 7.0)
    fig = new_figure(width, 7.0 if bars else 3.6)
    panels = [f'model{i}' for i in range(len(names))]
    layout = [panels]
    if bars:
        layout.append(['tp_fp'] * len(names))
    axes = fig.subplot_mosaic(layout)
    for i, (name, panel) in enumerate(zip(names, panels)):
        _histogram(axes[panel], name, models[name]['counts'],
                   models[name]['top1'], test_set, first=i == 0)
    top = max(axes[panel].get_ylim()[1] for panel in panels)
    for panel in panels:
        axes[panel].set_ylim(0, top)
    if bars:
        palette = [f'C{i % 10}' for i in range(len(names))]
        _tp_fp(axes['tp_fp'], bars, dict(zip(names, palette)))
    return fig
