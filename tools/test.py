"""Test a checkpoint on every test set of the config.

mmpretrain's flags plus ``--metrics-out``, ``--test-sets``, ``--views`` and
``--data-root`` (docs/get_started.md).

    python tools/test.py CONFIG CHECKPOINT [options]
"""
import argparse
import copy
import gc
import os
import os.path as osp
import tempfile

import mmengine
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import is_main_process

from xerm_mm.engine.per_set_outputs import PerSetDumpResults
from xerm_mm.report import (markdown_table, split_by_test_set,
                            write_metrics_json)
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.config import (build_runner, load_config,
                                  merge_cfg_options, set_data_root,
                                  set_work_dir)
from xerm_mm.utils.dataloader_defaults import set_dataloader_defaults
from xerm_mm.utils.process_group import close_process_group

# What mmengine.dump writes, by the file's extension.
METRICS_FORMATS = ('.json', '.yaml', '.yml', '.pkl', '.pickle')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0])
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation logs')
    parser.add_argument(
        '--out',
        help='dump the predictions (a .pkl, mmpretrain\'s DumpResults; one '
        'file per test set when there are several) or, with --out-item '
        'metrics, the metrics (.json / .pkl / .yaml)')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out dumps; defaults to pred')
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
        '--amp',
        action='store_true',
        help='test under autocast: float16 on CUDA, bfloat16 on the CPU')
    parser.add_argument(
        '--show-dir',
        help='draw the predictions into this folder (a sub-folder per test '
        'set when there are several)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='display the predictions in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='draw every INTERVAL-th sample of each test set')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each window of --show stays open')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s tta_model and '
        'tta_pipeline, or else the average score of the image and its '
        'horizontal flip')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='turn off pin_memory in the test dataloader')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='turn off persistent_workers in the test dataloader')
    parser.add_argument(
        '--no-strict-load',
        action='store_true',
        help='load the checkpoint even if its keys or shapes are not the '
        'model\'s (the matching part only; by default such a checkpoint is '
        'refused with the list of mismatches)')
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
    args = parser.parse_args(argv)
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    if args.out and args.out_item == 'metrics':
        if not args.out.endswith(METRICS_FORMATS):
            parser.error(f'--out {args.out} --out-item metrics: give a file '
                         f'ending in one of {METRICS_FORMATS}')
    elif args.out and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: predictions are dumped as a pickle; '
                     'give a .pkl file (or --out-item metrics)')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _enable_visualization(cfg: Config, args) -> None:
    """Switch on the config's VisualizationHook, a folder per test set."""
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks:
        raise KeyError(
            f'--show / --show-dir: {args.config} has no '
            'default_hooks.visualization; add visualization=dict('
            "type='VisualizationHook') to default_hooks.")
    vis = hooks.visualization
    if str(vis.get('type')).split('.')[-1] == 'VisualizationHook':
        vis.pop('_scope_', None)
        vis.type = 'xerm_mm.PerSetVisualizationHook'
    vis.update(
        enable=True,
        show=args.show,
        wait_time=args.wait_time,
        out_dir=args.show_dir,
        interval=args.interval)


def _flip_tta_pipeline(test_pipeline: list) -> list:
    """The test pipeline, its last step (packing) after a flip / no flip."""
    tta_pipeline = copy.deepcopy(test_pipeline)
    tta_pipeline[-1] = dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='RandomFlip', prob=1.),
            dict(type='RandomFlip', prob=0.)
        ], [test_pipeline[-1]]])
    return tta_pipeline


def _enable_tta(cfg: Config) -> None:
    """Wrap the model in the TTA model; test sets read the TTA pipeline."""
    cfg.setdefault('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
    if 'tta_pipeline' not in cfg:
        cfg.tta_pipeline = _flip_tta_pipeline(
            cfg.test_dataloader.dataset.pipeline)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    # A test set that replaces the dataset whole gets the TTA pipeline too.
    test_cfg = cfg.get('test_cfg') or {}
    for overrides in (test_cfg.get('test_sets') or {}).values():
        if 'type' in overrides:
            overrides.pipeline = cfg.tta_pipeline


def _select_test_sets(cfg: Config, names) -> None:
    """Keep only the test sets ``names`` of ``test_cfg.test_sets``."""
    test_sets = cfg.test_cfg.get('test_sets') or {}
    unknown = [name for name in names if name not in test_sets]
    if unknown:
        raise KeyError(f'--test-sets {unknown} not in the config\'s '
                       f'test_cfg.test_sets: {list(test_sets)}')
    cfg.test_cfg.test_sets = {name: test_sets[name] for name in names}


def check_no_checkpoint_option(options, checkpoint: str) -> None:
    """Refuse ``--cfg-options`` that would replace the CHECKPOINT argument.

    Raises:
        ValueError: ``load_from`` or ``resume`` is among the options.
    """
    for key in ('load_from', 'resume'):
        if key in options:
            raise ValueError(
                f'--cfg-options {key}={options[key]!r}: tools/test.py tests '
                f'the CHECKPOINT of its command line ({checkpoint!r}); give '
                f'the checkpoint to test there, not as --cfg-options {key}.')


def merge_args(cfg: Config, args) -> Config:
    """Merge the command-line arguments into the config."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    # XERMRunner.load_checkpoint: every key and shape must be the model's.
    cfg.load_strict = not args.no_strict_load
    if args.amp:
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        _enable_visualization(cfg, args)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        check_no_checkpoint_option(args.cfg_options, args.checkpoint)
        merge_cfg_options(cfg, args.cfg_options)
    if args.tta:
        _enable_tta(cfg)
    if args.views:
        loop = cfg.test_cfg.get('type', 'xerm_mm.MultiTestLoop')
        if loop not in ('MultiTestLoop', 'xerm_mm.MultiTestLoop'):
            raise ValueError('--views needs test_cfg.type=MultiTestLoop, '
                             f'got {cfg.test_cfg.type}')
        cfg.test_cfg.type = loop
        cfg.test_cfg.views = args.views
    if args.test_sets:
        _select_test_sets(cfg, args.test_sets)
    set_dataloader_defaults(
        cfg, ('test_dataloader', ),
        pin_memory=not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    return cfg


def check_writable(path: str, flag: str) -> None:
    """Fail now, not after the evaluation, if ``path`` cannot be written.

    Creates the folder of ``path`` (as the writers do) and a temporary file
    in it.

    Raises:
        OSError: naming the flag, the path and the reason.
    """
    if osp.isdir(path):
        raise IsADirectoryError(
            f'{flag} {path!r} is a folder; give the path of a file')
    folder = osp.dirname(osp.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(
            f'{flag} {path!r}: cannot write in {folder!r} '
            f'({error.strerror or error}); give a writable path') from error


def main(argv=None):
    args = parse_args(argv)
    for flag in ('out', 'metrics_out'):
        if getattr(args, flag):
            check_writable(getattr(args, flag), '--' + flag.replace('_', '-'))
    register_all_modules(init_default_scope=False)
    cfg = merge_args(load_config(args.config), args)
    if args.amp and not torch.cuda.is_available():
        print('--amp without CUDA: testing under bfloat16 autocast on the '
              'CPU')
    runner = build_runner(cfg)
    if args.out and args.out_item in (None, 'pred'):
        runner.test_evaluator.metrics.append(PerSetDumpResults(args.out))
    metrics = runner.test()
    if not is_main_process():
        return metrics
    print(markdown_table(split_by_test_set(metrics)))
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
        print(f'metrics dumped to {args.out}')
    if args.metrics_out:
        write_metrics_json(metrics, args.metrics_out)
        print(f'metrics written to {args.metrics_out}')
    return metrics


if __name__ == '__main__':
    # The imported modules live as long as the process: keep them out of
    # the garbage collector's scans (MMEngine collects after building each
    # dataset: 0.4-0.8 s a collection with them, a few ms without).
    gc.freeze()
    main()
    close_process_group()
