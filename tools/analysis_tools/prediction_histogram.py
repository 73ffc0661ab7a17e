"""Prediction histograms (the paper's Figure 1) from tools/test.py's metrics.

``python tools/analysis_tools/prediction_histogram.py --model NAME
METRICS_JSON [--model ...] --out-dir DIR``: per model, predicted against
ground-truth counts per class on one test set, and the true / false
positives of the few- and many-shot classes; no model is run. See
docs/analysis.md.
"""
import argparse
from collections import OrderedDict

import matplotlib

matplotlib.use('Agg')

from xerm_mm.analysis import (load_metrics,  # noqa: E402
                               prediction_histogram_figure, save_figure,
                               test_set_rows)
from xerm_mm.analysis.cli import (  # noqa: E402
    add_figure_options, add_model_option, check_model_names)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Predicted against ground-truth counts per class, and '
        'true / false positives per group, from tools/test.py\'s metrics')
    add_model_option(
        parser, ['METRICS'], 'a model\'s name and its tools/test.py metrics '
        'file (a panel each)')
    parser.add_argument(
        '--test-set',
        default='balanced',
        help='test set of the histograms and the few-shot bars (default: '
        'balanced)')
    parser.add_argument(
        '--imbalanced-set',
        help='test set of the many-shot bars (default: the first other set '
        'of the first file, e.g. ib100; none if it has no other)')
    add_figure_options(parser, 'prediction_histogram')
    args = parser.parse_args(argv)
    check_model_names(parser, args.model)
    return args


def _set_rows(path: str) -> OrderedDict:
    """Every test set's metrics in ``path``, checked."""
    return test_set_rows(load_metrics(path), path)


def _imbalanced_set(args, first_rows) -> str:
    """The many-shot bars' set: given, or the first other of the file."""
    if args.imbalanced_set is not None:
        return args.imbalanced_set
    others = [name for name in first_rows if name != args.test_set]
    return others[0] if others else None


def main(argv=None):
    args = parse_args(argv)
    rows = OrderedDict((name, _set_rows(path)) for name, path in args.model)
    imbalanced = _imbalanced_set(args, next(iter(rows.values())))
    fig, numbers = prediction_histogram_figure(rows, args.test_set,
                                               imbalanced, dict(args.model))
    paths = save_figure(fig, numbers, args.out_dir, args.name)
    for name, model in numbers['models'].items():
        few = model['groups'][args.test_set]['few']
        line = (f'{name}: few-shot on {args.test_set}: TP {few["tp"]}, '
                f'FP {few["fp"]}')
        if imbalanced is not None:
            many = model['groups'][imbalanced]['many']
            line += (f'; many-shot on {imbalanced}: TP {many["tp"]}, '
                     f'FP {many["fp"]}')
        print(line)
    print('written: ' + ', '.join(paths.values()))
    return numbers


if __name__ == '__main__':
    main()
