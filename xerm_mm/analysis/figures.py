"""Figures of the analysis tools and the report, drawn and saved with numbers.

Figures are :class:`matplotlib.figure.Figure` objects, not pyplot ones (no
window, any backend), saved as PNG and PDF beside a JSON of the numbers
plotted; every file is written atomically.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from xerm_mm.report import write_metrics_json
from xerm_mm.utils.atomic import atomic_write
from .sweep_sets import SweepSet

#: The picture formats written: PNG for READMEs, PDF for papers.
FORMATS = ('png', 'pdf')
#: Dots per inch of the PNG: a 10-inch-wide figure is 1500 pixels wide.
PNG_DPI = 150


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches, laid out by
    matplotlib's constrained layout (labels do not overlap)."""
    return Figure(figsize=(width, height), layout='constrained')


def save_figure(fig: Figure, numbers: dict, out_dir: str,
                name: str) -> Dict[str, str]:
    """Write ``{out_dir}/{name}.png``, ``.pdf`` and ``.json`` (``numbers``).

    Args:
        fig (Figure): The figure.
        numbers (dict): The numbers plotted (JSON-serializable; numpy values
            are converted).
        out_dir (str): The folder, created if needed.
        name (str): The file name without extension.

    Returns:
        dict: ``{'png': path, 'pdf': path, 'json': path}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for fmt in FORMATS:
        paths[fmt] = osp.join(out_dir, f'{name}.{fmt}')
        with atomic_write(paths[fmt], 'wb') as f:
            fig.savefig(f, format=fmt, dpi=PNG_DPI)
    paths['json'] = osp.join(out_dir, f'{name}.json')
    write_metrics_json(numbers, paths['json'])
    return paths


# The prediction histograms (the xERM paper's Figure 1): per model, the
# test images predicted as each class (bars) against those of each class (a
# line), classes head to tail; below, per (group, test set), each model's
# true positives (solid) and false positives (hatched).

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
        Figure: The figure, to save with :func:`save_figure`.
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


# The unbiasedness curve: top-1 against the test distribution, forward
# long tails on the left, balanced in the middle, backward on the right.


def draw_sweep_curve(sets: Sequence[SweepSet],
                     top1: Dict[str, Dict[str, float]]) -> Figure:
    """The figure: a line per model over the sweep's test sets.

    Args:
        sets (Sequence[SweepSet]): The test sets, in x order.
        top1 (dict): ``{model: {test set name: top-1 in percent}}``.

    Returns:
        Figure: The figure, to save with :func:`save_figure`.
    """
    fig = new_figure(max(6.0, 0.55 * len(sets) + 2.5), 4.2)
    ax = fig.add_subplot()
    x = list(range(len(sets)))
    markers = 'osD^v<>ph*'
    for i, (model, values) in enumerate(top1.items()):
        ax.plot(x, [values[s.name] for s in sets],
                marker=markers[i % len(markers)], linewidth=1.8,
                markersize=5, label=model)
    middle = [i for i, s in enumerate(sets) if s.imbalance_ratio == 1]
    for i in middle:
        ax.axvline(i, color='grey', linestyle=':', linewidth=1)
    ax.set_xticks(x, [s.label for s in sets], fontsize=9)
    ax.set_xlabel('imbalance ratio of the test set\nfwd: head classes most '
                  'frequent, bwd: tail classes most frequent', fontsize=9)
    ax.set_ylabel('top-1 accuracy (%)')
    ax.set_title('Accuracy as the test distribution moves', fontsize=11)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=9, loc='best')
    return fig
