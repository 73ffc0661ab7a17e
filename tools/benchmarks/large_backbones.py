"""Parameters and CPU step times of the large backbones with their heads.

Prints a markdown table, one row per recipe config of the large benchmarks
and method, on synthetic batches (docs/get_started.md, "Large backbones").

    python tools/benchmarks/large_backbones.py [--batch 8] [--steps 3]
"""
import argparse
import gc
import glob
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch
from mmengine.config import Config

from xerm_mm.engine.runner import memory_format_of
from xerm_mm.registry import MODELS
from xerm_mm.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train_step import (CLOCKS, add_clock_argument,  # noqa: E402
                        fill_view_buffers, framework_step_fn, make_batches,
                        model_cfg, to_channels_last, xerm_model)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The large benchmarks' recipes (configs/{xe,pc,tde,xerm}/{method}_{recipe}).
RECIPES = ('resnext50_1xb256-90e_imagenetlt', 'resnet152_1xb*-30e_places365lt',
           'resnet50_1xb*-30e_places365lt', 'resnet50_1xb256-90e_inat2018')
METHODS = ('xe', 'pc', 'tde', 'xerm-pc', 'xerm-tde')
# PC trains exactly as XE (the same network and loss; only its prediction
# differs), so its row would repeat XE's.
DEFAULT_METHODS = ('xe', 'tde', 'xerm-pc', 'xerm-tde')
COLUMNS = ('config', 'classes', 'params trainable', 'params total',
           'train s/step', 'train images/s', 'infer images/s')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=3,
                        help='timed steps (the median counts)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps before them')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch threads (default: torch's)")
    parser.add_argument('--size', type=int, default=224,
                        help='input height and width')
    add_clock_argument(parser)
    parser.add_argument('--methods', nargs='+', choices=METHODS,
                        default=list(DEFAULT_METHODS),
                        help='methods of the default configs (default: '
                        f'{" ".join(DEFAULT_METHODS)})')
    parser.add_argument('--only', nargs='+', default=None, metavar='SUBSTR',
                        help='keep the configs whose file name contains one '
                        'of these')
    parser.add_argument('--configs', nargs='+', default=None,
                        help='config files to time (default: the recipes '
                        'of the large benchmarks found in configs/)')
    args = parser.parse_args(argv)
    for name in ('batch', 'steps', 'size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be at least 1, got '
                         f'{getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be at least 0, got {args.warmup}')
    return args


def method_folder(method: str) -> str:
    return 'xerm' if method.startswith('xerm') else method


def default_configs(methods):
    """(config paths found, patterns that matched none)."""
    found, missing = [], []
    for recipe in RECIPES:
        for method in methods:
            pattern = osp.join(REPO, 'configs', method_folder(method),
                               f'{method}_{recipe}.py')
            paths = sorted(glob.glob(pattern))
            found.extend(paths)
            if not paths:
                missing.append(osp.relpath(pattern, REPO))
    return found, missing


def select_configs(args):
    """The configs to time, and the default patterns not found."""
    if args.configs:
        for path in args.configs:
            if not osp.isfile(path):
                raise SystemExit(f'large_backbones: config {path!r} not '
                                 'found')
        paths, missing = list(args.configs), []
    else:
        paths, missing = default_configs(args.methods)
    if args.only:
        paths = [p for p in paths
                 if any(s in osp.basename(p) for s in args.only)]
    if not paths:
        raise SystemExit('large_backbones: no config to time (--configs '
                         f'{args.configs}, --only {args.only}, --methods '
                         f'{args.methods})')
    return paths, missing


def build_model(cfg, folder):
    """The config's model (an xERM student with its teacher loaded), its
    PC / TDE views ready, in the config's memory format."""
    if 'teacher' in cfg.model:
        model = xerm_model(cfg, folder)
    else:
        model = MODELS.build(model_cfg(cfg))
    fill_view_buffers(model)
    if memory_format_of(cfg) == torch.channels_last:
        to_channels_last(model)
    return model


def count_params(model):
    """(trainable, total incl. the teachers' frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    for teacher in getattr(model, 'teachers', {}).values():
        total += sum(p.numel() for p in teacher.parameters())
    return trainable, total


def median_seconds(step, steps, warmup, clock=time.perf_counter):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = clock()
        step()
        times.append(clock() - start)
    return statistics.median(times)


def measure(path, args, folder):
    """One row of the table for the config at ``path``."""
    cfg = Config.fromfile(path)
    num_classes = cfg.model.head.num_classes
    batches = make_batches(2, args.batch, num_classes, size=args.size)
    torch.manual_seed(0)
    model = build_model(cfg, folder)
    trainable, total = count_params(model)
    clock = CLOCKS[args.clock]
    train_s = median_seconds(framework_step_fn(cfg, batches, model),
                             args.steps, args.warmup, clock)
    model.eval()
    inputs = [dict(inputs=list(images)) for images, _ in batches]
    state = {'i': 0}

    def test_step():
        with torch.no_grad():
            model.test_step(inputs[state['i'] % len(inputs)])
        state['i'] += 1

    test_s = median_seconds(test_step, args.steps, args.warmup, clock)
    return {
        'config': osp.splitext(osp.basename(path))[0],
        'classes': num_classes,
        'params trainable': f'{trainable / 1e6:.2f}M',
        'params total': f'{total / 1e6:.2f}M',
        'train s/step': f'{train_s:.3f}',
        'train images/s': f'{args.batch / train_s:.1f}',
        'infer images/s': f'{args.batch / test_s:.1f}',
    }


def print_table(rows):
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + '---|' * len(COLUMNS))
    for row in rows:
        print('| ' + ' | '.join(str(row[c]) for c in COLUMNS) + ' |')


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    paths, missing = select_configs(args)
    for pattern in missing:
        print(f'not found: {pattern}')
    print(f'threads {torch.get_num_threads()} batch {args.batch} size '
          f'{args.size} steps {args.steps} (median) warmup {args.warmup} '
          f'clock {args.clock} torch {torch.__version__}', flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix='large_backbones_') as folder:
        for path in paths:
            rows.append(measure(path, args, folder))
            print(f'done {rows[-1]["config"]}', flush=True)
            gc.collect()
    print_table(rows)
    return rows


if __name__ == '__main__':
    main()
