"""Choose TDE's alpha for a trained TDE model from data.

TDE's balanced view removes ``alpha`` times the projection of each feature
head on the moving average of the training features (see
:class:`~xerm_mm.models.heads.TDEHead`); the recipes fix ``alpha = 1.5``,
the TDE authors' value for 200 epochs. Two ways to choose it instead:

- ``'val'``: on a held-out balanced validation split (ImageNet-LT,
  Places365-LT: the dataset's ``split='val'``), the alpha of a grid with
  the best top-1 of the balanced view (the smallest on a tie);
- ``'mean_cos'``: the TDE authors' rule of thumb where there is no such
  split (CIFAR-LT): ``alpha * mean cos(x_k, m_k) = 1`` over the training
  images (test-time preprocessing), the mean over the images and the K
  heads, so ``alpha = 1 / mean cos``.
"""
import copy
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from xerm_mm.registry import DATASETS

__all__ = [
    'check_tde_config', 'check_grid', 'validation_dataset_cfg',
    'training_dataset_cfg', 'mean_cosines', 'alpha_from_mean_cos', 'grid_top1',
    'choose_on_split'
]


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
