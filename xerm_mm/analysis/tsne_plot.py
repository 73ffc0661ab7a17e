"""t-SNE of penultimate features (the xERM paper's Figure 3).

The classes shown run from head to tail: by default nine, evenly spaced over
the classes sorted by training images (the most and the least trained
included). Each model's features of those classes' test images are embedded
in 2-D by scikit-learn's TSNE with a fixed seed (same seed and features,
same points), and drawn as one panel per model, a colour per class.
"""
from typing import Dict, List, Sequence, Union

import numpy as np
from matplotlib.figure import Figure

from .figures import new_figure
from .prediction_counts import class_order

#: Classes shown when none are chosen.
DEFAULT_NUM_CLASSES = 9


def head_to_tail_classes(train_counts: Sequence[int],
                         num: int = DEFAULT_NUM_CLASSES) -> List[int]:
    """``num`` class ids evenly spaced over the classes sorted from the
    most to the least trained (all classes if there are fewer)."""
    order = class_order(train_counts)
    if num >= len(order):
        return order
    ranks = np.round(np.linspace(0, len(order) - 1, num)).astype(int)
    return [order[r] for r in ranks]


def parse_classes(values: Sequence[str], class_names: Sequence[str],
                  train_counts: Sequence[int]) -> List[int]:
    """Class ids of ``--classes`` (ids or names), ordered head to tail.

    Raises:
        ValueError: An unknown class or a repeated one (the valid ids and
            some names listed).
    """
    ids = []
    for value in values:
        if value in class_names:
            ids.append(list(class_names).index(value))
        elif value.isdigit() and int(value) < len(train_counts):
            ids.append(int(value))
        else:
            shown = ', '.join(map(str, list(class_names)[:5]))
            raise ValueError(
                f'--classes {value!r}: no such class; give ids 0..'
                f'{len(train_counts) - 1} or names ({shown}, ...)')
    if len(set(ids)) != len(ids):
        raise ValueError(f'--classes {list(values)}: a class is repeated')
    rank = {c: r for r, c in enumerate(class_order(train_counts))}
    return sorted(ids, key=rank.__getitem__)


def sample_per_class(labels: np.ndarray, classes: Sequence[int],
                     per_class: int, seed: int) -> np.ndarray:
    """Indices of at most ``per_class`` images of each class (a seeded
    choice where a class has more), sorted."""
    rng = np.random.RandomState(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if len(members) > per_class:
            members = rng.choice(members, per_class, replace=False)
        chosen.append(members)
    return np.sort(np.concatenate(chosen))


def embed(features: np.ndarray, seed: int,
          perplexity: float = 30.0) -> np.ndarray:
    """``(N, 2)`` t-SNE embedding (PCA initialisation, ``random_state``
    ``seed``; the perplexity capped below the number of points)."""
    from sklearn.manifold import TSNE
    perplexity = min(perplexity, max(1.0, (len(features) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init='pca',
                random_state=seed)
    return tsne.fit_transform(features.astype(np.float64))


def draw_tsne(models: Dict[str, Dict[str, Union[np.ndarray, list]]],
              classes: Sequence[Dict]) -> Figure:
    """The figure: a panel per model, a colour per class (head to tail).

    Args:
        models (dict): ``{name: dict(points=(N, 2), labels=(N,))}``.
        classes (Sequence[dict]): ``dict(id, name, train_count)`` per class
            shown, head to tail (the legend's order).
    """
    fig = new_figure(max(3.6 * len(models) + 2.2, 6.0), 4.0)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    palette = [f'C{i % 10}' for i in range(len(classes))]
    for ax, (name, model) in zip(axes, models.items()):
        points = np.asarray(model['points'])
        labels = np.asarray(model['labels'])
        for color, cls in zip(palette, classes):
            members = labels == cls['id']
            ax.scatter(points[members, 0], points[members, 1], s=9,
                       color=color, alpha=0.75, linewidths=0,
                       label=f"{cls['name']} ({cls['train_count']})")
        ax.set_title(name, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    legend = axes[-1].legend(
        title='class (training images)\nhead to tail', fontsize=8,
        title_fontsize=8, loc='upper left', bbox_to_anchor=(1.02, 1.0),
        markerscale=2, frameon=False)
    legend._legend_box.align = 'left'
    return fig
