"""t-SNE of penultimate features (the xERM paper's Figure 3):
``python tools/analysis_tools/tsne.py --model NAME CONFIG CHECKPOINT
[--model ...] --out-dir DIR``.

Each model's features of the test images (the config's test dataset, the
balanced one, or ``--test-set``) are extracted once through its
``extract_feat`` (the pooled vector the head reads) and cached beside the
figure (``{out_dir}/{name}_{model}_features.npz``, reused while the config,
checkpoint, test set and data root are the same), so a re-plot with other
classes or another seed runs no model. Nine classes evenly spaced from the
most to the least trained (or ``--classes``), at most ``--per-class``
images each, are embedded by scikit-learn's TSNE with ``--seed``: the same
seed gives the same points.

Writes ``{out_dir}/{name}.png``, ``.pdf`` and ``.json`` (per model the 2-D
points, their labels and test-set indices; the classes with their training
images).
"""
import argparse
import os.path as osp
from collections import OrderedDict

import matplotlib

matplotlib.use('Agg')

import torch  # noqa: E402

from xerm_mm.analysis import save_figure  # noqa: E402
from xerm_mm.analysis.cli import (add_figure_options,  # noqa: E402
                                  add_model_option, add_test_set_options,
                                  check_model_names)
from xerm_mm.analysis.features import (extract_features,  # noqa: E402
                                       load_cached, save_cached, source_key)
from xerm_mm.analysis.trained_model import (  # noqa: E402
    build_test_dataset, load_config, load_model, resolved_models)
from xerm_mm.analysis.tsne_plot import (DEFAULT_NUM_CLASSES,  # noqa: E402
                                        draw_tsne, embed,
                                        head_to_tail_classes, parse_classes,
                                        sample_per_class)
from xerm_mm.utils import register_all_modules  # noqa: E402


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
    main()
