"""Top-1 of several models as the test distribution moves (unbiasedness curve).

``python tools/analysis_tools/distribution_sweep.py --model NAME CONFIG
CHECKPOINT [--model ...] --work-dir DIR``: tools/test.py per model on forward
long-tailed, balanced and backward long-tailed test sets (the test-agnostic
sweep); prints the table and draws the curve. See docs/analysis.md.
"""
import argparse
import gc
import os.path as osp
import shlex
from collections import OrderedDict

import matplotlib

matplotlib.use('Agg')

from mmengine.config import Config  # noqa: E402

from xerm_mm.analysis import draw_sweep_curve, save_figure  # noqa: E402
from xerm_mm.analysis.cli import (add_figure_options,  # noqa: E402
                                  add_model_option, check_model_names,
                                  experiment_name_option, load_tool)
from xerm_mm.analysis.sweep_sets import (DEFAULT_RATIOS,  # noqa: E402
                                         check_sweepable, sweep_sets,
                                         sweep_set_options)
from xerm_mm.report import markdown_table, split_by_test_set  # noqa: E402
from xerm_mm.utils import register_all_modules  # noqa: E402
from xerm_mm.utils.config import resolve_config_path  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Top-1 of several checkpoints on forward long-tailed, '
        'balanced and backward long-tailed test sets, and its plot')
    add_model_option(
        parser, ['CONFIG', 'CHECKPOINT'], 'a model: its name on the plot, '
        'its test config and checkpoint')
    parser.add_argument(
        '--ratios',
        nargs='+',
        type=float,
        default=list(DEFAULT_RATIOS),
        help='imbalance ratios (> 1) of the forward and backward test sets '
        f'(default: {" ".join(map(str, DEFAULT_RATIOS))})')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/distribution_sweep',
        help='folder of the test runs, a sub-folder per model')
    add_figure_options(parser, 'distribution_sweep', '--work-dir')
    parser.add_argument(
        '--data-root', help='tools/test.py --data-root, for every model')
    parser.add_argument(
        '--amp', action='store_true', help='tools/test.py --amp')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='tools/test.py --cfg-options key=value pairs, for every model '
        '(after the sweep\'s own)')
    parser.add_argument(
        '--model-options',
        nargs='+',
        action='append',
        default=[],
        metavar=('NAME', 'KEY=VALUE'),
        help='tools/test.py --cfg-options of one model, after those of '
        '--cfg-options (repeat per model), e.g. the view a pipeline '
        "evaluation tests: --model-options RIDE "
        'model.head.predict_view=imbalanced')
    args = parser.parse_args(argv)
    check_model_names(parser, args.model)
    args.model_options = _model_options(parser, args)
    args.ratios = [int(r) if float(r).is_integer() else r
                   for r in args.ratios]
    try:
        args.sets = sweep_sets(args.ratios)
    except ValueError as error:
        parser.error(str(error))
    args.out_dir = args.out_dir or args.work_dir
    return args


def _model_options(parser, args) -> dict:
    """``{model name: [key=value, ...]}`` of ``--model-options``."""
    names = [model[0] for model in args.model]
    options = {}
    for name, *pairs in args.model_options:
        if name not in names:
            parser.error(f'--model-options {name}: no --model of that name '
                         f'(models: {", ".join(names)})')
        if not pairs or any('=' not in pair for pair in pairs):
            parser.error(f'--model-options {name}: give KEY=VALUE pairs '
                         f'after the name, got {pairs}')
        options.setdefault(name, []).extend(pairs)
    return options


def test_argv(args, name: str, config: str, checkpoint: str) -> list:
    """tools/test.py's arguments that evaluate one model on the sweep."""
    folder = osp.join(args.work_dir, name)
    argv = [config, checkpoint, '--work-dir', folder,
            '--metrics-out', osp.join(folder, 'metrics.json'),
            '--test-sets', *[s.name for s in args.sets]]
    if args.data_root:
        argv += ['--data-root', args.data_root]
    if args.amp:
        argv.append('--amp')
    return argv + ['--cfg-options', *sweep_set_options(args.sets),
                   *args.cfg_options, *args.model_options.get(name, [])]


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    args.model = [(name, resolve_config_path(config), checkpoint)
                  for name, config, checkpoint in args.model]
    for name, config, checkpoint in args.model:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'--model {name}: checkpoint '
                                    f'{checkpoint!r} not found')
        check_sweepable(Config.fromfile(config), config)
    test_main = load_tool(__file__, 'test')['main']
    top1 = OrderedDict()
    models = OrderedDict()
    for name, config, checkpoint in args.model:
        argv = test_argv(args, name, config, checkpoint)
        print(f'[sweep] {name}: python tools/test.py {shlex.join(argv)}',
              flush=True)
        rows = split_by_test_set(
            test_main(argv + [experiment_name_option(f'sweep_{name}')]))
        top1[name] = OrderedDict((s.name, rows[s.name]['top1'])
                                 for s in args.sets)
        models[name] = OrderedDict(
            config=config, checkpoint=checkpoint,
            metrics_file=osp.join(args.work_dir, name, 'metrics.json'),
            top1=top1[name],
            mean_top1=sum(top1[name].values()) / len(args.sets),
            test_command=['tools/test.py', *argv])
    table = OrderedDict(
        (name, dict(top1[name], mean=models[name]['mean_top1']))
        for name in top1)
    print(markdown_table(table, [s.name for s in args.sets] + ['mean'],
                         first='method'))
    numbers = OrderedDict(
        test_sets=[s._asdict() for s in args.sets], models=models)
    paths = save_figure(draw_sweep_curve(args.sets, top1), numbers,
                        args.out_dir, args.name)
    print('written: ' + ', '.join(paths.values()))
    return numbers


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
