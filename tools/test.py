"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

With the configs of this project the model is evaluated on every test set of
``test_cfg.test_sets`` (the balanced test set and the imbalanced ones) in one
run, and one table is printed, a row per test set. ``--metrics-out`` writes every
metric, with the per-class predicted / ground-truth / true-positive counts, to
a JSON file.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process

from xerm_mm.evaluation.report import markdown_table, split_by_test_set
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.config import build_runner, set_data_root


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation logs')
    parser.add_argument(
        '--metrics-out',
        help='write all metrics (per-class counts too) to this JSON')
    parser.add_argument(
        '--test-sets',
        nargs='+',
        help='evaluate only these of test_cfg.test_sets (e.g. balanced '
        'ib100)')
    parser.add_argument(
        '--views',
        nargs='+',
        choices=['imbalanced', 'balanced'],
        help='evaluate these views of a PC / TDE head (one row each); by '
        'default the head\'s predict_view')
    parser.add_argument(
        '--data-root',
        help='folder of the dataset, set on every dataset of the config')
    parser.add_argument(
        '--amp', action='store_true', help='test under autocast (fp16)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge the command-line arguments into the config."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.amp:
        cfg.test_cfg.fp16 = True
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.views:
        loop = cfg.test_cfg.get('type', 'xerm_mm.MultiTestLoop')
        if loop not in ('MultiTestLoop', 'xerm_mm.MultiTestLoop'):
            raise ValueError('--views needs test_cfg.type=MultiTestLoop, '
                             f'got {cfg.test_cfg.type}')
        cfg.test_cfg.type = loop
        cfg.test_cfg.views = args.views
    if args.test_sets:
        test_sets = cfg.test_cfg.get('test_sets') or {}
        unknown = [name for name in args.test_sets if name not in test_sets]
        if unknown:
            raise KeyError(f'--test-sets {unknown} not in the config\'s '
                           f'test_cfg.test_sets: {list(test_sets)}')
        cfg.test_cfg.test_sets = {
            name: test_sets[name]
            for name in args.test_sets
        }
    return cfg


def _to_builtin(value):
    """JSON fallback for numpy and torch values."""
    return value.tolist() if hasattr(value, 'tolist') else str(value)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    metrics = runner.test()
    if not is_main_process():
        return
    print(markdown_table(split_by_test_set(metrics)))
    if args.metrics_out:
        os.makedirs(osp.dirname(osp.abspath(args.metrics_out)), exist_ok=True)
        with open(args.metrics_out, 'w') as f:
            json.dump(metrics, f, indent=1, default=_to_builtin)
        print(f'metrics written to {args.metrics_out}')


if __name__ == '__main__':
    main()
