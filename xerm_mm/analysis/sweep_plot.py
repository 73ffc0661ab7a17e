"""Draw the unbiasedness curve of the test-agnostic sweep.

Top-1 accuracy (y) against the test distribution (x): forward long tails
from the largest imbalance ratio on the left, the balanced test set in the
middle, backward long tails to the largest ratio on the right; one line per
model. A model biased to the head classes falls from left to right; an
unbiased one stays flat.
"""
from typing import Dict, Sequence

from matplotlib.figure import Figure

from .figures import new_figure
from .sweep_sets import SweepSet


def draw_sweep_curve(sets: Sequence[SweepSet],
                     top1: Dict[str, Dict[str, float]]) -> Figure:
    """The figure: a line per model over the sweep's test sets.

    Args:
        sets (Sequence[SweepSet]): The test sets, in x order.
        top1 (dict): ``{model: {test set name: top-1 in percent}}``.

    Returns:
        Figure: The figure, to save with :func:`~.figures.save_figure`.
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
