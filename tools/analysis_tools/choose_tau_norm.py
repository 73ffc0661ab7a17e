"""Choose Decoupling's tau-norm exponent on held-out balanced data.

``python tools/analysis_tools/choose_tau_norm.py TAUNORM_CONFIG CHECKPOINT``:
the class-mean top-1 of the tau-normalised classifier per ``tau`` on the
config's ``tau_norm_val_dataset`` (never the test set), the best one chosen
and written as ``cfg_options`` (``--out``). See docs/analysis.md.
"""
import argparse
import copy
import gc
import json
from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmengine.registry import DefaultScope

from xerm_mm.analysis.features import extract_features
from xerm_mm.analysis.trained_model import load_config, load_model
from xerm_mm.experiment.options import parse_options
from xerm_mm.models.heads.tau_norm_head import (check_norm_tau,
                                                tau_normalised_weight)
from xerm_mm.registry import DATASETS
from xerm_mm.report import markdown_table
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.atomic import atomic_write

KEY = 'tau_norm_val_dataset'

#: The default grid: 0, 0.1, ..., 2.0.
DEFAULT_TAUS = tuple(round(0.1 * i, 1) for i in range(21))


def class_mean_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of their accuracy (%)."""
    classes = np.unique(labels)
    if classes.size == 0:
        raise ValueError('class_mean_accuracy: no samples')
    return float(
        np.mean([np.mean(pred[labels == c] == c) for c in classes]) * 100)


def tau_norm_accuracies(feats: np.ndarray, labels: np.ndarray,
                        weight: torch.Tensor,
                        taus: Sequence[float]) -> List[float]:
    """Class-mean accuracy of the tau-normalised classifier, per ``tau``.

    Args:
        feats (np.ndarray): ``(N, D)`` features the head reads.
        labels (np.ndarray): ``(N,)`` classes.
        weight (torch.Tensor): ``(C, D)`` classifier weights (``fc.weight``).
        taus (Sequence[float]): The grid.

    Returns:
        list[float]: The accuracy (%) of each ``tau``, in order.
    """
    x = torch.as_tensor(feats, dtype=torch.float64)
    w = weight.detach().double()
    labels = np.asarray(labels)
    return [
        class_mean_accuracy(
            (x @ tau_normalised_weight(w, check_norm_tau(
                tau, 'taus')).t()).argmax(1).numpy(), labels)
        for tau in taus
    ]


def choose_tau(taus: Sequence[float],
               accuracies: Sequence[float]) -> Tuple[float, float]:
    """``(tau, accuracy)`` of the best accuracy; the smallest tau on ties."""
    if not taus or len(taus) != len(accuracies):
        raise ValueError('choose_tau: need one accuracy per tau, got '
                         f'{len(taus)} taus and {len(accuracies)} accuracies')
    best = max(accuracies)
    for tau, acc in zip(taus, accuracies):
        if acc == best:
            return float(tau), float(acc)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Choose the tau of tau-normalisation on held-out '
        'balanced data')
    parser.add_argument('config', help='a config with a TauNormHead and '
                        f'`{KEY}` (configs/decoupling/taunorm_*.py)')
    parser.add_argument('checkpoint', help='the XE checkpoint')
    parser.add_argument('--taus', type=float, nargs='+',
                        default=list(DEFAULT_TAUS),
                        help='the grid (default 0, 0.1, ..., 2)')
    parser.add_argument('--data-root', help='data_root of the held-out set')
    parser.add_argument('--out', help='write the table and choice (JSON)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides of the config (as tools/test.py takes '
        'them)')
    return parser.parse_args(argv)


def build_val_dataset(cfg, config: str, data_root=None):
    """The config's held-out dataset (``tau_norm_val_dataset``)."""
    dataset = cfg.get(KEY)
    if not dataset:
        raise KeyError(
            f'{config} has no `{KEY}`: the held-out balanced data to choose '
            'tau on (never the test set). Use a configs/decoupling/taunorm_* '
            f'config or add {KEY}=dict(type=...) to yours.')
    dataset = copy.deepcopy(dataset)
    if data_root is not None:
        dataset['data_root'] = data_root
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        return DATASETS.build(dataset)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(parse_options(args.cfg_options))
    head_type = cfg.model.head.type.split('.')[-1]
    if head_type != 'TauNormHead':
        raise TypeError(f'{args.config}: the head is {head_type}; '
                        'choose_tau_norm needs a TauNormHead config '
                        '(configs/decoupling/taunorm_*)')
    dataset = build_val_dataset(cfg, args.config, args.data_root)
    model = load_model(cfg, args.checkpoint, dataset)
    head = model.head
    feats, labels = extract_features(model, dataset)
    accs = tau_norm_accuracies(feats, labels, head.fc.weight, args.taus)
    tau, acc = choose_tau(args.taus, accs)
    print(f'held-out set: {type(dataset).__name__}, {len(dataset)} images, '
          f'{len(set(labels.tolist()))} classes (class-mean top-1)')
    print(markdown_table({f'{t:g}': dict(top1=a)
                          for t, a in zip(args.taus, accs)},
                         columns=['top1'], first='tau'))
    print(f'chosen tau: {tau:g} (held-out class-mean top-1 {acc:.2f})')
    print(f'apply it: --cfg-options model.head.tau={tau:g}')
    if args.out:
        with atomic_write(args.out, 'w') as f:
            json.dump(dict(taus=list(args.taus), top1=accs, tau=tau,
                           top1_at_tau=acc, images=len(dataset),
                           cfg_options={'model.head.tau': tau}), f,
                      indent=2)
    return tau


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
