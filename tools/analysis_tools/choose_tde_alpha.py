"""Choose TDE's alpha for a trained TDE model from data, and test it.

``python tools/analysis_tools/choose_tde_alpha.py CONFIG CHECKPOINT``: the
best alpha of ``--grid`` on a validation split where the dataset has one
(ImageNet-LT, Places365-LT), else the TDE authors' ``alpha = 1 / mean cos``
over the training images; then tools/test.py with the config's alpha and
the chosen one, written as ``cfg_options`` (``--out``). See docs/analysis.md.
"""
import argparse
import copy
import gc
import json
import os.path as osp
import shlex
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from xerm_mm.analysis.cli import experiment_name_option, load_tool
from xerm_mm.analysis.features import extract_features
from xerm_mm.analysis.trained_model import load_config, load_model
from xerm_mm.experiment.options import parse_options
from xerm_mm.registry import DATASETS
from xerm_mm.report import markdown_table, split_by_test_set
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.config import resolve_config_path

DEFAULT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


def check_tde_config(cfg: Config, path: str) -> None:
    """Raise ValueError unless the config's ``model.head`` is a TDEHead."""
    head = ((cfg.get('model') or {}).get('head') or {}).get('type', '')
    if str(head).split('.')[-1] != 'TDEHead':
        raise ValueError(
            f'{path}: model.head is {head!r}, not a TDEHead: alpha is the '
            "TDE head's; give a TDE config (configs/tde/) and its checkpoint")


def check_grid(grid: Sequence[float]) -> list:
    """The alphas of a grid, checked: not empty, every value finite >= 0."""
    grid = [float(a) for a in grid or ()]
    if not grid:
        raise ValueError('the alpha grid is empty: give --grid A [A ...] '
                         '(e.g. --grid 0 0.5 1 1.5 2)')
    bad = [a for a in grid if not np.isfinite(a) or a < 0]
    if bad:
        raise ValueError(f'--grid: alpha must be a finite number >= 0, got '
                         f'{bad}')
    return grid


def validation_dataset_cfg(cfg: Config) -> Optional[dict]:
    """The held-out balanced validation split of the config's test dataset
    (its ``split='val'``), or None where the dataset has none (CIFAR-LT,
    DigitsLT) or the test set already is that split (iNaturalist 2018)."""
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    cls = DATASETS.get(dataset.get('type', ''))
    if cls is None or 'val' not in getattr(cls, 'SPLITS', ()) or \
            dataset.get('split') in (None, 'val'):
        return None
    dataset.update(split='val')
    for key in ('imbalance_ratio', 'reverse'):
        dataset.pop(key, None)
    return dataset


def training_dataset_cfg(cfg: Config) -> dict:
    """The config's training dataset with the test pipeline (no
    augmentation), any dataset wrapper removed."""
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    while 'dataset' in dataset and 'pipeline' not in dataset:
        dataset = dataset['dataset']  # e.g. ClassBalancedDataset
    dataset['pipeline'] = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    return dataset


def mean_cosines(head, feats: np.ndarray) -> np.ndarray:
    """``(K,)``: per head k, the mean over the images of
    ``cos(x_k, m_k)`` with ``m`` the head's moving average."""
    if int(head.num_updates) == 0:
        raise RuntimeError('the TDE head has no moving average (never '
                           'trained): load a trained checkpoint')
    x = torch.as_tensor(feats).float()
    k = head.num_heads
    x = x.reshape(len(x), k, -1)
    m = head.moving_avg.float().reshape(k, -1)
    cos = torch.nn.functional.cosine_similarity(x, m[None], dim=-1)
    return cos.mean(dim=0).numpy()


def alpha_from_mean_cos(cosines: np.ndarray) -> float:
    """The rule of thumb ``alpha = 1 / mean cos`` (mean over the heads)."""
    mean = float(np.mean(cosines))
    if not mean > 0:
        raise ValueError(f'mean cos(features, moving average) = {mean:.4f} '
                         'is not positive: the rule alpha = 1 / mean cos '
                         'does not apply; choose alpha on a validation '
                         'split (--grid)')
    return 1.0 / mean


@torch.no_grad()
def grid_top1(head, feats: np.ndarray, labels: np.ndarray,
              grid: Sequence[float]) -> Dict[float, float]:
    """Top-1 (%) of the head's balanced (TDE) view for each alpha."""
    x = torch.as_tensor(feats).float()
    y = torch.as_tensor(labels)
    fixed = head.alpha
    head.eval()
    top1 = {}
    try:
        pre = head.pre_views((x, ))
        for alpha in grid:
            head.alpha = alpha
            pred = head.balanced_logits(pre).argmax(dim=1)
            top1[alpha] = 100.0 * float((pred == y).float().mean())
    finally:
        head.alpha = fixed
    return top1


def choose_on_split(head, feats: np.ndarray, labels: np.ndarray,
                    grid: Sequence[float]) -> Tuple[float, Dict[float, float]]:
    """The alpha of ``grid`` with the best top-1 (the first of the grid on
    a tie), and every alpha's top-1."""
    top1 = grid_top1(head, feats, labels, check_grid(grid))
    best = max(top1, key=lambda a: top1[a])
    return best, top1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Choose a trained TDE model's alpha on a balanced "
        'validation split or by alpha * mean cos = 1, and test both alphas')
    parser.add_argument('config', help='the TDE test config')
    parser.add_argument('checkpoint', help='the trained TDE checkpoint')
    parser.add_argument(
        '--method',
        choices=['auto', 'val', 'mean_cos'],
        default='auto',
        help="'val': the best of --grid on the validation split; "
        "'mean_cos': alpha = 1 / mean cos over the training set; 'auto' "
        '(default): val where the dataset has the split, else mean_cos')
    parser.add_argument(
        '--grid',
        nargs='*',
        type=float,
        default=list(DEFAULT_GRID),
        help='the alphas tried on the validation split (default: '
        f'{" ".join(map(str, DEFAULT_GRID))})')
    parser.add_argument('--data-root', help='folder of the dataset')
    parser.add_argument('--work-dir',
                        help='folder of the test runs (default: the folder '
                        'of --out, else work_dirs/choose_tde_alpha)')
    parser.add_argument(
        '--out', help='the JSON file (default: {work_dir}/tde_alpha.json)')
    parser.add_argument(
        '--test-sets',
        nargs='+',
        help='tools/test.py --test-sets (default: every set of the config)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides of the config, for the choice and the '
        'tests')
    args = parser.parse_args(argv)
    try:
        args.grid = check_grid(args.grid)
    except ValueError as error:
        parser.error(str(error))
    if args.work_dir is None:
        args.work_dir = (osp.dirname(osp.abspath(args.out)) if args.out
                         else 'work_dirs/choose_tde_alpha')
    args.out = args.out or osp.join(args.work_dir, 'tde_alpha.json')
    return args


def choose(args, cfg) -> OrderedDict:
    """The chosen alpha and what it was chosen from."""
    val = validation_dataset_cfg(cfg)
    method = args.method
    if method == 'auto':
        method = 'val' if val is not None else 'mean_cos'
    if method == 'val' and val is None:
        raise ValueError(
            f'{args.config}: its test dataset '
            f'({cfg.test_dataloader.dataset.get("type")}) has no held-out '
            "validation split (split='val'); use --method mean_cos")
    dataset_cfg = val if method == 'val' else training_dataset_cfg(cfg)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        dataset = DATASETS.build(dataset_cfg)
    model = load_model(cfg, args.checkpoint, dataset)
    feats, labels = extract_features(model, dataset)
    found = OrderedDict(method=method,
                        fixed_alpha=float(model.head.alpha),
                        images=len(labels))
    if method == 'val':
        alpha, top1 = choose_on_split(model.head, feats, labels, args.grid)
        found.update(alpha=alpha,
                     val_top1=OrderedDict(
                         (str(a), v) for a, v in top1.items()))
    else:
        cosines = mean_cosines(model.head, feats)
        found.update(alpha=alpha_from_mean_cos(cosines),
                     mean_cos=float(cosines.mean()),
                     mean_cos_per_head=[float(c) for c in cosines])
    return found


def test_alphas(args, alphas) -> OrderedDict:
    """tools/test.py with each alpha: ``{label: dict(alpha, top1,
    test_command)}``."""
    test_main = load_tool(__file__, 'test')['main']
    results = OrderedDict()
    for label, alpha in alphas.items():
        folder = osp.join(args.work_dir, label)
        argv = [
            args.config, args.checkpoint, '--work-dir', folder,
            '--metrics-out',
            osp.join(folder, 'metrics.json')
        ]
        if args.data_root:
            argv += ['--data-root', args.data_root]
        if args.test_sets:
            argv += ['--test-sets', *args.test_sets]
        argv += [
            '--cfg-options', *args.cfg_options, f'model.head.alpha={alpha!r}'
        ]
        print(f'[tde-alpha] {label}: python tools/test.py {shlex.join(argv)}',
              flush=True)
        rows = split_by_test_set(
            test_main(argv + [experiment_name_option(f'tde_alpha_{label}')]))
        results[label] = OrderedDict(alpha=alpha,
                                     top1=OrderedDict(
                                         (name, row['top1'])
                                         for name, row in rows.items()),
                                     test_command=['tools/test.py', *argv])
    return results


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    args.config = resolve_config_path(args.config)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg = load_config(args.config, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(parse_options(args.cfg_options))
    check_tde_config(cfg, args.config)
    found = choose(args, cfg)
    print(f"[tde-alpha] chosen alpha {found['alpha']:.4f} ({found['method']}"
          f"; the config's: {found['fixed_alpha']})")
    results = test_alphas(
        args, OrderedDict(fixed=found['fixed_alpha'], chosen=found['alpha']))
    sets = list(results['fixed']['top1'])
    print(
        markdown_table(OrderedDict(
            (f"{label} (alpha={r['alpha']:.3f})", r['top1'])
            for label, r in results.items()),
                       sets,
                       first='alpha'))
    report = OrderedDict(config=args.config,
                         checkpoint=args.checkpoint,
                         choice=found,
                         results=results,
                         cfg_options={'model.head.alpha': found['alpha']})
    with atomic_write(args.out) as f:
        json.dump(report, f, indent=1)
    print(f'written: {args.out}')
    return report


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
