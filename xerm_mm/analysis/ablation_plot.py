"""Draw the xERM ablation (the paper's Figure 5).

Top-1 against the constant weight w and against gamma, a panel each; per
method a colour, the balanced test set solid and the imbalanced one dashed,
the default gamma and the adaptive weights marked. See docs/analysis.md.
"""
from matplotlib.figure import Figure

from .figures import new_figure

_AXES = dict(
    weight=('constant weight w (balanced teacher\'s share)',
            'Constant weights (distillation)'),
    gamma=('gamma (exponent of the xERM weights)', 'Adaptive weights'),
)


def _mark_default_gammas(ax, methods: dict) -> None:
    """A vertical line at each default gamma, naming the methods when they
    differ."""
    defaults = {}
    for method, entry in methods.items():
        defaults.setdefault(entry['default_gamma'], []).append(method)
    for i, (gamma, names) in enumerate(sorted(defaults.items())):
        ax.axvline(gamma, color='grey', linestyle=':', linewidth=1.5)
        text = f'default γ = {gamma:g}'
        if len(defaults) > 1:
            text += f' ({", ".join(names)})'
        ax.annotate(text, (gamma, 1), color='dimgrey', fontsize=8,
                    xycoords=('data', 'axes fraction'),
                    textcoords='offset points', xytext=(3, -12 * (i + 1)))


def draw_ablation(numbers: dict) -> Figure:
    """The figure of the ablation's JSON numbers (see
    ``tools/analysis_tools/xerm_ablation.py``): ``numbers['methods']`` maps a
    method to its ``default_gamma``, ``adaptive`` (top-1 per test set at
    the default gamma, or None) and, per kind (``weight``, ``gamma``), its
    points (``value`` and ``top1`` per test set)."""
    kinds = [kind for kind in _AXES
             if any(m[kind] for m in numbers['methods'].values())]
    sets = (numbers['balanced_set'], numbers['imbalanced_set'])
    fig = new_figure(5.0 * len(kinds), 4.2)
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    colors = ['C0', 'C3', 'C2', 'C1', 'C4']
    for ax, kind in zip(axes, kinds):
        for i, (method, entry) in enumerate(numbers['methods'].items()):
            color = colors[i % len(colors)]
            points = entry[kind]
            for test_set, style, marker in zip(sets, ('-', '--'), 'os'):
                ax.plot([p['value'] for p in points],
                        [p['top1'][test_set] for p in points],
                        linestyle=style, marker=marker, markersize=5,
                        color=color, label=f'{method}, {test_set}')
                if kind == 'weight' and entry['adaptive']:
                    ax.axhline(entry['adaptive'][test_set], color=color,
                               linestyle=':', linewidth=1)
        if kind == 'gamma':
            _mark_default_gammas(ax, numbers['methods'])
        xlabel, title = _AXES[kind]
        ax.set_xlabel(xlabel)
        ax.set_ylabel('top-1 accuracy (%)')
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='best')
    if any(m['adaptive'] for m in numbers['methods'].values()):
        fig.suptitle('dotted horizontal lines: adaptive xERM weights at the '
                     'default gamma', fontsize=8)
    return fig
