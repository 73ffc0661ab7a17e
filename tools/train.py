"""Train a model.

mmpretrain's flags plus ``--data-root``, ``--overwrite`` and ``--amp`` on a
machine without CUDA (docs/get_started.md).

    python tools/train.py CONFIG [options]
"""
import argparse
import gc
import os
import os.path as osp
import re
import shlex
import sys
from typing import List, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import find_latest_checkpoint

from xerm_mm.engine.autocast_optim_wrapper import \
    AutocastOptimWrapper  # noqa: F401  registers it
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.config import (build_runner, load_config,
                                  merge_cfg_options, set_data_root,
                                  set_work_dir)
from xerm_mm.utils.dataloader_defaults import set_dataloader_defaults
from xerm_mm.utils.process_group import close_process_group
from xerm_mm.utils.schedule import check_max_epochs
from xerm_mm.utils.work_dir_lock import WorkDirLock

# The files a run writes in its work dir (MMEngine's CheckpointHook:
# epoch_N.pth / iter_N.pth, best_{metric}_epoch_N.pth; last_checkpoint), and
# XERMRunner's unfinished writes (.{checkpoint}.{pid}.tmp).
RUN_CHECKPOINTS = (r'(epoch|iter)_\d+\.pth', r'best_.+_(epoch|iter)_\d+\.pth')
UNFINISHED = r'\.(?P<name>.+)\.\d+\.tmp'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    rerun = parser.add_mutually_exclusive_group()
    rerun.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint of the work directory')
    rerun.add_argument(
        '--overwrite',
        action='store_true',
        help='remove the checkpoints a previous run left in the work '
        'directory (epoch_N.pth, best_*_epoch_N.pth, last_checkpoint; other '
        'files are kept) and train from the start (without it, or '
        '--resume, such a work directory is refused)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: float16 with loss scaling on CUDA, '
        'bfloat16 autocast on the CPU')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate the checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual over the config batch')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='turn off pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='turn off persistent_workers in the dataloaders')
    parser.add_argument(
        '--data-root',
        help='folder of the dataset, set on every dataset of the config')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_dataloader.dataset.imbalance_ratio=50')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    if args.amp:
        _enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    set_dataloader_defaults(
        cfg,
        pin_memory=not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    return cfg


def _enable_amp(cfg: Config) -> None:
    """float16 + loss scaling on CUDA; bfloat16 autocast on the CPU."""
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        return
    cfg.optim_wrapper.pop('_scope_', None)
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.optim_wrapper.type = 'xerm_mm.AutocastOptimWrapper'
    cfg.optim_wrapper.dtype = 'bfloat16'


def _run_patterns(cfg: Config) -> List[str]:
    """The names of the checkpoints a run of ``cfg`` writes (regexes)."""
    patterns = list(RUN_CHECKPOINTS)
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    template = hook.get('filename_tmpl')
    if template:
        patterns.append(re.escape(template).replace(r'\{\}', r'\d+'))
    return patterns


def _run_files(cfg: Config, work_dir: str) -> Tuple[List[str], List[str]]:
    """The files an earlier run wrote in ``work_dir``, and the other
    ``*.pth`` files there (a user's, kept); both sorted by name."""
    if not osp.isdir(work_dir):
        return [], []
    patterns = _run_patterns(cfg)

    def written(name: str) -> bool:
        unfinished = re.fullmatch(UNFINISHED, name)
        if unfinished:
            name = unfinished.group('name')
        return any(re.fullmatch(p, name) for p in patterns)

    names = sorted(n for n in os.listdir(work_dir)
                   if osp.isfile(osp.join(work_dir, n)))
    ours = [n for n in names if n == 'last_checkpoint' or written(n)]
    others = [n for n in names if n.endswith('.pth') and n not in ours]
    return ours, others


def _launch_rank(launcher: str) -> int:
    """This process's rank, before the process group is set up."""
    name = dict(slurm='SLURM_PROCID', mpi='OMPI_COMM_WORLD_RANK').get(
        launcher, 'RANK')
    return int(os.environ.get(name, os.environ.get('RANK', 0)))


def check_work_dir(cfg: Config, args) -> None:
    """Refuse to mix two runs in one work dir; check what --resume finds.

    With ``--overwrite``, remove the files of the earlier run (rank 0), say
    which, and keep the others.

    Raises:
        FileExistsError: The work dir holds the checkpoints of a run, and
            neither ``--resume`` nor ``--overwrite`` is given.
        FileNotFoundError: ``--resume`` without a path finds no checkpoint
            to resume in the work dir.
    """
    work_dir = cfg.work_dir
    if args.resume == 'auto':
        latest = find_latest_checkpoint(work_dir)
        if latest is None:
            raise FileNotFoundError(
                f"--resume: nothing to resume in '{work_dir}' (no "
                'last_checkpoint file there). Train without --resume to '
                'start a new run, or give the checkpoint: --resume PATH.')
        if not osp.isfile(latest):
            raise FileNotFoundError(
                f"--resume: '{work_dir}/last_checkpoint' names {latest!r}, "
                'which does not exist. Give the checkpoint to resume: '
                '--resume PATH (or --overwrite to start over).')
        return
    if args.resume is not None:
        return
    found, others = _run_files(cfg, work_dir)
    checkpoints = [n for n in found if not re.fullmatch(UNFINISHED, n)]
    if checkpoints and not args.overwrite:
        raise FileExistsError(
            f"work dir '{work_dir}' already holds the checkpoints of another "
            f'run ({", ".join(checkpoints[:6])}'
            f'{", ..." if len(checkpoints) > 6 else ""}). Add --resume to go '
            'on from its last checkpoint, or --overwrite to remove them and '
            'train from the start (or give another --work-dir).')
    if not (args.overwrite and found) or _launch_rank(args.launcher) != 0:
        return
    for name in found:
        os.remove(osp.join(work_dir, name))
    kept = f'; kept {", ".join(others)}' if others else ''
    print(f"--overwrite: removed from '{work_dir}' the checkpoints of the "
          f'earlier run: {", ".join(found)}{kept}', flush=True)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = merge_args(load_config(args.config), args)
    check_max_epochs(cfg)
    command = shlex.join([sys.argv[0] if argv is None else __file__] +
                         list(sys.argv[1:] if argv is None else argv))
    # The launch's rank 0 holds the work dir until the run ends.
    lock = WorkDirLock(cfg.work_dir, command)
    if _launch_rank(args.launcher) == 0:
        lock.acquire()
    try:
        check_work_dir(cfg, args)
        runner = build_runner(cfg)
        runner.train()  # XERMRunner fits the schedule to max_epochs
    finally:
        lock.release()
    return runner


if __name__ == '__main__':
    # The imported modules live as long as the process: keep them out of
    # the garbage collector's scans (MMEngine collects after building each
    # dataset: 0.4-0.8 s a collection with them, a few ms without).
    gc.freeze()
    main()
    close_process_group()
