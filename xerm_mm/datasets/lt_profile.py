"""Long-tailed class profiles (LDAM-DRW's ``exp`` / ``step``) and the seeded
long-tailed split of a dataset (docs/datasets.md).
"""
import math
import numbers
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'IMB_TYPES', 'SPLITS', 'img_num_per_cls', 'long_tail_indices',
    'long_tail_subset', 'check_lt_args'
]

IMB_TYPES = ('exp', 'step')
SPLITS = ('train', 'test')


def _check_ratio(imbalance_ratio, name: str = 'imbalance_ratio') -> float:
    """Return ``imbalance_ratio`` as a float, or raise if it is not >= 1."""
    if (isinstance(imbalance_ratio, bool)
            or not isinstance(imbalance_ratio, numbers.Real)
            or not math.isfinite(imbalance_ratio) or imbalance_ratio < 1):
        raise ValueError(f'{name} must be a finite number >= 1 '
                         f'(n_max / n_min; 1 means balanced), '
                         f'but got {imbalance_ratio!r}')
    return float(imbalance_ratio)


def _check_imb_type(imb_type) -> str:
    if imb_type not in IMB_TYPES:
        raise ValueError(f'imb_type must be one of {IMB_TYPES}, '
                         f'but got {imb_type!r}')
    return imb_type


def img_num_per_cls(n_max: int,
                    num_classes: int,
                    imbalance_ratio: float,
                    imb_type: str = 'exp',
                    reverse: bool = False) -> List[int]:
    """Number of images of each class of a long-tailed profile.

    ``exp``: ``n_i = int(n_max * IB^(-i / (C - 1)))``; ``step``: ``n_max`` for
    the first ``C // 2`` classes and ``int(n_max / IB)`` for the rest
    (with an odd ``C`` the low half has one class more). Computed as
    ``n_max * (1 / IB) ** (i / (C - 1))``, the literature's expression.

    Args:
        n_max (int): Images in the largest class (class 0, or the last class
            when ``reverse``).
        num_classes (int): Number of classes ``C``.
        imbalance_ratio (float): ``IB = n_max / n_min`` (>= 1; 1 gives
            ``n_max`` for every class).
        imb_type (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        reverse (bool): Flip the profile (class ``C - 1`` largest).
            Defaults to False.

    Returns:
        list[int]: ``C`` counts. Classes can get 0 when ``IB > n_max``.

    Examples:
        >>> sum(img_num_per_cls(500, 100, 100))
        10847
    """
    ratio = _check_ratio(imbalance_ratio)
    _check_imb_type(imb_type)
    if isinstance(n_max, bool) or not isinstance(n_max, numbers.Integral) \
            or n_max < 0:
        raise ValueError(f'n_max must be an int >= 0, but got {n_max!r}')
    if isinstance(num_classes, bool) \
            or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(
            f'num_classes must be an int >= 1, but got {num_classes!r}')
    n_max, num_classes = int(n_max), int(num_classes)
    factor = 1.0 / ratio
    if imb_type == 'exp':
        denom = max(num_classes - 1, 1)
        counts = [int(n_max * factor**(i / denom)) for i in range(num_classes)]
    else:
        half = num_classes // 2
        counts = [n_max] * half + [int(n_max * factor)] * (num_classes - half)
    return counts[::-1] if reverse else counts


def long_tail_indices(labels: Sequence[int],
                      counts: Sequence[int],
                      seed: int = 0) -> np.ndarray:
    """Indices of the seeded long-tailed subset (the LDAM-DRW split).

    Same as ``np.random.seed(seed)`` followed, for each class ``c = 0..C-1``
    in order, by ``idx = np.where(labels == c)[0]; np.random.shuffle(idx);
    keep idx[:counts[c]]`` (a private ``RandomState(seed)`` gives the same
    stream without touching NumPy's global state). The kept indices are
    concatenated class by class. When every image is kept (``counts`` equals
    the class sizes, e.g. imbalance ratio 1 on balanced data) the result is
    ``arange(len(labels))``: the data in its original order.

    Args:
        labels (Sequence[int]): Class index of each image, in ``[0, C)``.
        counts (Sequence[int]): Images to keep per class, ``C = len(counts)``.
        seed (int): Seed of the random stream. Defaults to 0.

    Returns:
        np.ndarray: int64 indices into ``labels``.

    Raises:
        ValueError: A label outside ``[0, C)``, or a count that is negative
            or larger than its class.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    counts = [int(c) for c in counts]
    num_classes = len(counts)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}) for '
                         f'{num_classes} counts, but range over '
                         f'[{labels.min()}, {labels.max()}]')
    sizes = np.bincount(labels, minlength=num_classes)
    for c, (k, size) in enumerate(zip(counts, sizes)):
        if k < 0 or k > size:
            raise ValueError(f'counts[{c}] = {k} is not in [0, {size}] '
                             f'(the number of images of class {c})')
    if all(k == size for k, size in zip(counts, sizes)):
        return np.arange(labels.size, dtype=np.int64)
    rng = np.random.RandomState(seed)
    kept = []
    for c, k in enumerate(counts):
        idx = np.where(labels == c)[0]
        rng.shuffle(idx)
        kept.append(idx[:k])
    return np.concatenate(kept).astype(np.int64)


def long_tail_subset(labels: Sequence[int],
                     num_classes: int,
                     imbalance_ratio: float,
                     imb_type: str = 'exp',
                     reverse: bool = False,
                     seed: int = 0) -> Tuple[np.ndarray, List[int]]:
    """Long-tailed subset of a labelled split, ``n_max`` taken from the data.

    ``n_max`` is the smallest class size, so that every class can give its
    ``n_i`` images; on balanced data (CIFAR) it is the per-class count.

    Args:
        labels (Sequence[int]): Class index of each image, in ``[0, C)``.
        num_classes (int): ``C``.
        imbalance_ratio (float): ``IB`` (>= 1).
        imb_type (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        reverse (bool): Flip the profile. Defaults to False.
        seed (int): Seed of the split. Defaults to 0.

    Returns:
        tuple[np.ndarray, list[int]]: The kept indices (see
        :func:`long_tail_indices`) and the per-class counts.

    Raises:
        ValueError: A class of ``[0, C)`` has no image in the data.

    Warns:
        UserWarning: The profile leaves a class with no image
        (``IB > n_max``), as the literature's code silently does.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    sizes = np.bincount(labels[(labels >= 0) & (labels < num_classes)],
                        minlength=num_classes)
    if sizes.size == 0 or sizes.min() == 0:
        empty = [int(c) for c in np.flatnonzero(sizes == 0)]
        raise ValueError(f'classes {empty} have no image in the data, '
                         'cannot build a long-tailed split')
    n_max = int(sizes.min())
    counts = img_num_per_cls(n_max, num_classes, imbalance_ratio, imb_type,
                             reverse)
    if min(counts) == 0:
        empty = [c for c, n in enumerate(counts) if n == 0]
        warnings.warn(f'imbalance_ratio={imbalance_ratio!r} with n_max='
                      f'{n_max} images per class leaves classes {empty} with '
                      f'no image (an imbalance_ratio <= {n_max} keeps one)')
    return long_tail_indices(labels, counts, seed), counts


def check_lt_args(dataset: str,
                  split: str,
                  imbalance_ratio: float,
                  imb_type: str,
                  train_imbalance_ratio: Optional[float] = None) -> float:
    """Validate the long-tailed arguments of a dataset; return the train IB.

    Args:
        dataset (str): Name of the dataset class, for the messages.
        split (str): ``'train'`` or ``'test'``.
        imbalance_ratio (float): ``IB`` of this split (>= 1).
        imb_type (str): ``'exp'`` or ``'step'``.
        train_imbalance_ratio (float, optional): ``IB`` of the training split
            this split belongs to. Required for ``'test'``; for ``'train'``
            it must be None or equal to ``imbalance_ratio``.

    Returns:
        float: The imbalance ratio of the training split.
    """
    if split not in SPLITS:
        raise ValueError(f'{dataset}: split must be one of {SPLITS}, '
                         f'but got {split!r}')
    ratio = _check_ratio(imbalance_ratio)
    _check_imb_type(imb_type)
    if split == 'train':
        if train_imbalance_ratio is not None and \
                _check_ratio(train_imbalance_ratio,
                             'train_imbalance_ratio') != ratio:
            raise ValueError(
                f"{dataset}(split='train'): train_imbalance_ratio "
                f'({train_imbalance_ratio!r}) must be None or equal to '
                f'imbalance_ratio ({imbalance_ratio!r})')
        return ratio
    if train_imbalance_ratio is None:
        raise ValueError(
            f"{dataset}(split='{split}') needs train_imbalance_ratio: the "
            'imbalance ratio of the training split whose class counts '
            'define the many/medium/few groups')
    return _check_ratio(train_imbalance_ratio, 'train_imbalance_ratio')
