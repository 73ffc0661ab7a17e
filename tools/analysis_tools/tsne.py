"""t-SNE of several models' penultimate features (the xERM paper's Figure 3).

``python tools/analysis_tools/tsne.py --model NAME CONFIG CHECKPOINT [--model
...] --out-dir DIR``: a panel per model, classes from head to tail; the
features are cached beside the figure. See docs/analysis.md.
"""
import argparse
import gc
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Sequence, Union

import matplotlib

matplotlib.use('Agg')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from xerm_mm.analysis import (class_order, new_figure,  # noqa: E402
                              save_figure)
from xerm_mm.analysis.cli import (add_figure_options,  # noqa: E402
                                  add_model_option, add_test_set_options,
                                  check_model_names)
from xerm_mm.analysis.features import (extract_features,  # noqa: E402
                                       load_cached, save_cached, source_key)
from xerm_mm.analysis.trained_model import (  # noqa: E402
    build_test_dataset, load_config, load_model, resolved_models)
from xerm_mm.utils import register_all_modules  # noqa: E402

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='t-SNE of the penultimate features of several models, '
        'classes from head to tail')
    add_model_option(
        parser, ['CONFIG', 'CHECKPOINT'], 'a model: its panel title, its '
        'config and checkpoint')
    parser.add_argument(
        '--classes',
        nargs='+',
        help='class ids or names to show (default: '
        f'{DEFAULT_NUM_CLASSES} evenly spaced from the most to the least '
        'trained)')
    parser.add_argument(
        '--per-class',
        type=int,
        default=100,
        help='at most this many test images per class (default: 100)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of TSNE and of the '
        'choice of images (default: 0)')
    parser.add_argument(
        '--perplexity', type=float, default=30.0,
        help='TSNE perplexity (default: 30; capped for few points)')
    add_test_set_options(parser)
    add_figure_options(parser, 'tsne')
    args = parser.parse_args(argv)
    check_model_names(parser, args.model)
    if args.per_class < 1:
        parser.error(f'--per-class {args.per_class}: give a number >= 1')
    return args


def model_features(args, name: str, config: str, checkpoint: str):
    """``(features, labels, dataset)`` of one model, from the cache file if
    it was written for this config, checkpoint and test set."""
    cfg = load_config(config, args.data_root)
    dataset = build_test_dataset(cfg, args.test_set)
    path = osp.join(args.out_dir, f'{args.name}_{name}_features.npz')
    source = source_key(config, checkpoint, test_set=args.test_set,
                        data_root=args.data_root)
    cached = load_cached(path, source)
    if cached:
        print(f'[tsne] {name}: features read from {path}')
        return cached['features'], cached['labels'], dataset
    model = load_model(cfg, checkpoint, dataset)
    features, labels = extract_features(model, dataset)
    save_cached(path, source, features=features, labels=labels)
    print(f'[tsne] {name}: {features.shape[1]}-d features of '
          f'{len(labels)} images written to {path}')
    return features, labels, dataset


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    models = resolved_models(args.model)
    torch.manual_seed(args.seed)
    panels, classes = OrderedDict(), None
    for name, config, checkpoint in models:
        features, labels, dataset = model_features(args, name, config,
                                                   checkpoint)
        if classes is None:
            meta = dataset.metainfo
            counts = meta['train_class_counts']
            names = [str(c) for c in meta.get('classes') or range(len(counts))]
            ids = (parse_classes(args.classes, names, counts)
                   if args.classes else head_to_tail_classes(counts))
            classes = [dict(id=c, name=names[c], train_count=int(counts[c]))
                       for c in ids]
        chosen = sample_per_class(labels, [c['id'] for c in classes],
                                  args.per_class, args.seed)
        if len(chosen) < 2:
            raise ValueError(f'--model {name}: {len(chosen)} test image(s) '
                             'of the chosen classes; t-SNE needs more')
        points = embed(features[chosen], args.seed, args.perplexity)
        panels[name] = OrderedDict(
            config=config, checkpoint=checkpoint,
            points=points.round(4).tolist(),
            labels=labels[chosen].tolist(), indices=chosen.tolist())
    numbers = OrderedDict(
        test_set=args.test_set or 'the config\'s test dataset',
        seed=args.seed, perplexity=args.perplexity,
        per_class=args.per_class, classes=classes, models=panels)
    paths = save_figure(draw_tsne(panels, classes), numbers, args.out_dir,
                        args.name)
    print('classes (head to tail): ' + ', '.join(
        f"{c['name']} ({c['train_count']})" for c in classes))
    print('written: ' + ', '.join(paths.values()))
    return numbers


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
