"""GPU throughput of the XE and xERM training steps, standard and fast path.

Times one ``model.train_step`` of each contender on the real data, then
projects a whole pipeline's wall time from them (docs/gpu.md, "The GPU
benchmark").
Without CUDA (``--device cuda``) it says so and exits 0.

    python tools/benchmarks/gpu_steps.py --data-root DIR [--device cuda]
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from xerm_mm.experiment.checks import needed_stages, stages_run
from xerm_mm.registry import MODELS
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.config import resolve_config_path, set_data_root
from xerm_mm.utils.dataloader_defaults import set_dataloader_defaults

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train_step import model_cfg, xerm_model  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = 'bbn-resnet32_1xb128-200e_cifar100lt-ib100'
XE_CONFIG = osp.join(REPO, f'configs/xe/xe_{RECIPE}.py')
XERM_CONFIG = osp.join(REPO, f'configs/xerm/xerm-pc_{RECIPE}.py')
PIPELINE = osp.join(REPO, f'configs/pipelines/xerm_{RECIPE}-fast.py')
FALLBACK_PIPELINE = osp.join(REPO, f'configs/pipelines/xerm_{RECIPE}.py')
FAST_SUFFIX = '-fast'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', required=True,
                        help='folder holding cifar-100-python/')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--xe-config', default=XE_CONFIG)
    parser.add_argument('--xerm-config', default=XERM_CONFIG)
    parser.add_argument(
        '--fast-suffix', default=FAST_SUFFIX,
        help='the fast twin of X.py is X{suffix}.py (default %(default)s)')
    parser.add_argument(
        '--pipeline', default=None,
        help=f'pipeline to project (default {PIPELINE}, or {FALLBACK_PIPELINE} '
        'where it does not exist)')
    parser.add_argument('--batch', type=int, default=None,
                        help="batch size (default: the config's)")
    parser.add_argument('--workers', type=int, default=None,
                        help="standard-path loader workers (default: the "
                        "config's)")
    parser.add_argument('--steps', type=int, default=None,
                        help='timed steps per round (default 50; cpu 3)')
    parser.add_argument('--rounds', type=int, default=None,
                        help='rounds (default 3; cpu 2)')
    parser.add_argument('--startup-s', type=float, default=20.0,
                        help='projected start-up seconds of each tool process')
    parser.add_argument('--json-out', help='also write the numbers here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for every config')
    return parser.parse_args(argv)


def load_config(path: str, args) -> Config:
    cfg = Config.fromfile(resolve_config_path(path))
    cfg.merge_from_dict(args.cfg_options)
    set_data_root(cfg, args.data_root)
    for key in ('train_dataloader', 'test_dataloader'):
        if args.batch:
            cfg[key].batch_size = args.batch
    if args.workers is not None and not cfg.train_dataloader.dataset.get(
            'batch_fetch'):
        cfg.train_dataloader.num_workers = args.workers
        if args.workers == 0:
            cfg.train_dataloader.persistent_workers = False
    set_dataloader_defaults(cfg, pin_memory=args.device == 'cuda')
    return cfg


def fast_twin(path: str, suffix: str) -> str:
    return path[:-len('.py')] + suffix + '.py'


class Contender:
    """A model, its optimizer wrapper and a cycling loader of one config."""

    def __init__(self, cfg: Config, device: str, folder: str, test=False):
        self.cfg = cfg
        model = (xerm_model(cfg, folder) if 'teacher' in cfg.model else
                 MODELS.build(model_cfg(cfg)))
        model.to(device)
        if cfg.get('memory_format') == 'channels_last':
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.test = test
        if test:
            model.eval()
            loader_cfg = cfg.test_dataloader
        else:
            model.train()
            self.optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            loader_cfg = cfg.train_dataloader
        self.loader = Runner.build_dataloader(loader_cfg, seed=0)
        self.batch = loader_cfg.batch_size
        self._iter = iter(self.loader)

    def _next(self):
        try:
            return next(self._iter)
        except StopIteration:
            self._iter = iter(self.loader)
            return next(self._iter)

    def step(self):
        batch = self._next()
        if self.test:
            with torch.no_grad():
                self.model.test_step(batch)
        else:
            self.model.train_step(batch, self.optim_wrapper)


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_steps(contender: Contender, steps: int, device: str) -> float:
    """Seconds per step, after one warm-up step."""
    contender.step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        contender.step()
    _sync(device)
    return (time.perf_counter() - start) / steps


def test_set_images(cfg: Config, n_test: int) -> int:
    """Images of all test sets of ``cfg.test_cfg`` (the balanced one has
    ``n_test``), by the long-tail profile of :mod:`xerm_mm.datasets`."""
    from xerm_mm.datasets import img_num_per_cls
    num_classes = cfg.model.head.num_classes
    n_max = n_test // num_classes
    sets = cfg.get('test_cfg', {}).get('test_sets') or dict(balanced={})
    return sum(
        sum(img_num_per_cls(n_max, num_classes,
                            spec.get('imbalance_ratio', 1)))
        for spec in sets.values())


def _post_hoc_projection(stage: dict, cfg: Config, startup_s: float,
                         test_ips: float, n_train: int, n_test: int) -> dict:
    """A post-hoc stage trains nothing: its chooser starts, computes the
    features of (at most) the training images and, for choose_tde_alpha,
    tests the checkpoint with two alphas."""
    tests = 2 if osp.basename(stage['chooser']) == 'choose_tde_alpha.py' \
        else 0
    images = n_train + tests * test_set_images(cfg, n_test)
    return dict(seconds=startup_s + images / test_ips, epochs=0,
                iterations=0, step='choose', validations=0, images=images)


def project(pipeline: str, args, step_s: Dict[str, float], test_ips: float,
            n_train: int, n_test: int) -> dict:
    """Projected seconds of each stage and evaluation of ``pipeline``."""
    pcfg = Config.fromfile(resolve_config_path(pipeline))
    stages = {}
    run = stages_run(pcfg)  # as Experiment runs them
    for stage in run:
        cfg = Config.fromfile(resolve_config_path(stage['config']))
        if stage.get('post_hoc') is not None:
            stages[stage['name']] = _post_hoc_projection(
                stage, cfg, args.startup_s, test_ips, n_train, n_test)
            continue
        kind = 'xerm' if 'teacher' in cfg.model else 'xe'
        path = 'fast' if cfg.train_dataloader.dataset.get('batch_fetch') \
            else 'standard'
        key = f'{kind}_{path}'
        if key not in step_s:
            raise SystemExit(f'gpu_steps: stage {stage["name"]} of {pipeline} '
                             f'needs the {kind} step on the {path} path, '
                             'which was not measured')
        batch = cfg.train_dataloader.batch_size
        per_step = step_s[key] * batch / step_s['batch']
        epochs = cfg.train_cfg.max_epochs * stage.get('epochs_factor', 1)
        iters = math.ceil(n_train / batch)
        vals = epochs // cfg.train_cfg.get('val_interval', epochs + 1)
        seconds = (args.startup_s + epochs * iters * per_step +
                   vals * n_test / test_ips)
        stages[stage['name']] = dict(seconds=seconds, epochs=epochs,
                                     iterations=epochs * iters, step=key,
                                     validations=vals)
    evals = {}
    for ev in pcfg.evaluations:
        if ev['stage'] not in stages:
            continue
        config = ev.get('config') or next(
            s['config'] for s in pcfg.stages if s['name'] == ev['stage'])
        cfg = Config.fromfile(resolve_config_path(config))
        images = test_set_images(cfg, n_test)
        evals[ev['name']] = dict(seconds=args.startup_s + images / test_ips,
                                 images=images)
    serial = sum(s['seconds'] for s in stages.values()) + sum(
        e['seconds'] for e in evals.values())
    # With --jobs >= 2 and no contention: the stages level by level (the
    # teachers together, then the stages that need them, ...), then the
    # evaluations together.
    level: Dict[str, int] = {}
    for stage in run:
        level[stage['name']] = 1 + max(
            (level[n] for n in needed_stages(stage) if n in level), default=0)
    critical = sum(
        max(stages[n]['seconds'] for n in level if level[n] == depth)
        for depth in set(level.values())) + max(
            (e['seconds'] for e in evals.values()), default=0)
    return dict(pipeline=pipeline, stages=stages, evaluations=evals,
                serial_minutes=serial / 60, critical_path_minutes=critical / 60)


def measure(args, device: str) -> dict:
    """Time the contenders; return the numbers (and the projection)."""
    steps = args.steps or (50 if device == 'cuda' else 3)
    rounds = args.rounds or (3 if device == 'cuda' else 2)
    configs = dict(xe_standard=args.xe_config, xerm_standard=args.xerm_config)
    skipped = []
    for kind in ('xe', 'xerm'):
        fast = fast_twin(configs[f'{kind}_standard'], args.fast_suffix)
        try:
            resolve_config_path(fast)
            configs[f'{kind}_fast'] = fast
        except FileNotFoundError:
            skipped.append(fast)
    test_path = configs.get('xe_fast', configs['xe_standard'])
    with tempfile.TemporaryDirectory(prefix='gpu_steps_') as folder:
        contenders = {
            name: Contender(load_config(path, args), device, folder)
            for name, path in configs.items()
        }
        tester = Contender(load_config(test_path, args), device, folder,
                           test=True)
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, contender in contenders.items():
            times[name].append(time_steps(contender, steps, device))
    step_s = {name: min(t) for name, t in times.items()}
    batch = contenders['xe_standard'].batch
    step_s['batch'] = batch
    test_s = min(time_steps(tester, steps, device) for _ in range(rounds))
    result = dict(
        device=(torch.cuda.get_device_name() if device == 'cuda' else
                f'cpu ({torch.get_num_threads()} threads)'),
        torch=torch.__version__, batch=batch, steps=steps, rounds=rounds,
        configs=configs, skipped=skipped,
        images_per_s={n: batch / s for n, s in step_s.items() if n != 'batch'},
        ms_per_step={n: 1e3 * s for n, s in step_s.items() if n != 'batch'},
        test_images_per_s=tester.batch / test_s)
    if device == 'cuda':
        result['peak_memory_mib'] = torch.cuda.max_memory_allocated() / 2**20
    pipeline = args.pipeline or (PIPELINE if osp.exists(PIPELINE) else
                                 FALLBACK_PIPELINE)
    n_train = len(contenders['xe_standard'].loader.dataset)
    n_test = len(tester.loader.dataset)
    result['projection'] = project(pipeline, args, step_s,
                                   result['test_images_per_s'], n_train,
                                   n_test)
    return result


def report(result: dict) -> str:
    lines = [f"device {result['device']} torch {result['torch']} batch "
             f"{result['batch']} steps {result['steps']} rounds "
             f"{result['rounds']}"]
    labels = dict(xe_standard='XE step, standard path',
                  xe_fast='XE step, fast path',
                  xerm_standard='xERM step, standard path',
                  xerm_fast='xERM step, fast path')
    for name, label in labels.items():
        if name in result['images_per_s']:
            lines.append(f"{label:26s} {result['images_per_s'][name]:9.1f} "
                         f"images/s {result['ms_per_step'][name]:8.2f} ms")
    for path in result['skipped']:
        lines.append(f'fast path not measured: no config {path}')
    lines.append(f"{'test forward':26s} {result['test_images_per_s']:9.1f} "
                 'images/s')
    ips = result['images_per_s']
    for kind in ('xe', 'xerm'):
        if f'{kind}_fast' in ips:
            lines.append(f'ratio fast_over_standard_{kind} '
                         f"{ips[f'{kind}_fast'] / ips[f'{kind}_standard']:.3f}")
    if 'peak_memory_mib' in result:
        lines.append(f"peak memory {result['peak_memory_mib']:.0f} MiB")
    proj = result['projection']
    lines.append(f"projected pipeline {proj['pipeline']}")
    for name, stage in proj['stages'].items():
        if stage['step'] == 'choose':
            lines.append(f"  stage {name}: post hoc, {stage['images']} "
                         f"images: {stage['seconds'] / 60:.1f} min")
            continue
        lines.append(f"  stage {name}: {stage['iterations']} iterations "
                     f"({stage['step']}), {stage['validations']} validations:"
                     f" {stage['seconds'] / 60:.1f} min")
    for name, ev in proj['evaluations'].items():
        lines.append(f"  evaluation {name}: {ev['images']} images: "
                     f"{ev['seconds'] / 60:.1f} min")
    lines.append(f"projected minutes {proj['serial_minutes']:.1f} serial, "
                 f"{proj['critical_path_minutes']:.1f} with --jobs >= 2 "
                 '(no contention)')
    return '\n'.join(lines)


def main(argv=None) -> Optional[int]:
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('gpu_steps: no CUDA device here: nothing measured '
              '(--device cpu runs the same on the CPU)')
        return 0
    register_all_modules()
    result = measure(args, args.device)
    print(report(result), flush=True)
    if args.json_out:
        os.makedirs(osp.dirname(osp.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
