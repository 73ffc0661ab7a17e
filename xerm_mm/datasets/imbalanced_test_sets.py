"""Imbalanced test sets of ImageNet-LT and Places365-LT (LADE / SADE).

The profile is described in docs/datasets.md, "Imbalanced test sets".
"""
from typing import List, Sequence, Tuple

import numpy as np

from .lt_profile import img_num_per_cls

__all__ = ['imbalanced_test_indices']


def imbalanced_test_indices(
        labels: Sequence[int],
        train_class_counts: Sequence[int],
        imbalance_ratio: float,
        reverse: bool = False) -> Tuple[np.ndarray, List[int]]:
    """Indices (in list order) of the imbalanced test set, and its counts.

    Args:
        labels (Sequence[int]): Class of every image of the balanced list.
        train_class_counts (Sequence[int]): Training images per class; their
            order gives the ranks.
        imbalance_ratio (float): ``IB`` (>= 1); 1 keeps the whole list.
        reverse (bool): Backward profile. Defaults to False.

    Returns:
        tuple[np.ndarray, list[int]]: Sorted int64 indices into ``labels``
        and the kept images per class.

    Raises:
        ValueError: A class has no image in the list.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    num_classes = len(train_class_counts)
    sizes = np.bincount(labels, minlength=num_classes)
    if imbalance_ratio == 1:
        img_num_per_cls(1, num_classes, imbalance_ratio)  # checks the args
        return np.arange(labels.size, dtype=np.int64), sizes.tolist()
    if sizes.min() == 0:
        empty = np.flatnonzero(sizes == 0)[:10].tolist()
        raise ValueError(f'classes {empty} have no image in the list; an '
                         'imbalanced test set needs every class')
    per_rank = img_num_per_cls(int(sizes.min()), num_classes, imbalance_ratio,
                               'exp', reverse)
    order = np.argsort(-np.asarray(train_class_counts, dtype=np.int64),
                       kind='stable')
    counts = np.empty(num_classes, dtype=np.int64)
    counts[order] = per_rank
    # Position of each image within its class, in list order.
    by_class = np.argsort(labels, kind='stable')
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(labels.size, dtype=np.int64)
    pos[by_class] = np.arange(labels.size) - np.repeat(starts, sizes)
    keep = np.flatnonzero(pos < counts[labels]).astype(np.int64)
    return keep, counts.tolist()
