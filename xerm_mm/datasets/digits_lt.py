"""DigitsLT: a tiny offline long-tailed dataset from scikit-learn's digits."""
import functools
import importlib.util
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset

from xerm_mm.registry import DATASETS
from .batch_fetch import BatchFetchMixin
from .long_tail_mixin import LongTailMixin

__all__ = ['DigitsLT']

_SPLIT_SEED = 0


def _digits_table() -> np.ndarray:
    """scikit-learn's digits table: 64 pixels (0..16) and the label per row.

    Read from the file that ``sklearn.datasets.load_digits`` reads, without
    importing scikit-learn (1.4 s of CPU per process that builds the
    dataset); ``load_digits`` where the file is not found.
    """
    spec = importlib.util.find_spec('sklearn')
    if spec is not None and spec.submodule_search_locations:
        path = osp.join(spec.submodule_search_locations[0], 'datasets',
                        'data', 'digits.csv.gz')
        if osp.isfile(path):
            return np.loadtxt(path, delimiter=',')
    from sklearn.datasets import load_digits
    digits = load_digits()
    return np.concatenate([digits.data, digits.target[:, None]], axis=1)


@functools.lru_cache(maxsize=1)
def _digits() -> Tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as read-only ``(N, 32, 32, 3)`` uint8 and labels.

    Pixels: ``round(v * 255 / 16)``, upsampled 8x8 -> 32x32 (bilinear) and
    repeated over 3 channels.
    """
    table = _digits_table()
    small = np.round(table[:, :64].reshape(-1, 8, 8) *
                     (255.0 / 16.0)).astype(np.uint8)
    big = np.stack([
        cv2.resize(img, (32, 32), interpolation=cv2.INTER_LINEAR)
        for img in small
    ])
    imgs = np.repeat(big[..., None], 3, axis=-1)
    labels = table[:, -1].astype(np.int64)
    imgs.flags.writeable = False
    labels.flags.writeable = False
    return imgs, labels


def _fixed_split(labels: np.ndarray, test_per_class: int,
                 split: str) -> np.ndarray:
    """Indices of ``split`` in the fixed train/test split, in data order."""
    rng = np.random.RandomState(_SPLIT_SEED)
    chosen = []
    for c in range(int(labels.max()) + 1):
        perm = rng.permutation(np.flatnonzero(labels == c))
        chosen.append(perm[:test_per_class] if split ==
                      'test' else perm[test_per_class:])
    return np.sort(np.concatenate(chosen))


@DATASETS.register_module()
class DigitsLT(BatchFetchMixin, LongTailMixin, BaseDataset):
    """Long-tailed scikit-learn digits (10 classes, CIFAR-shaped images).

    Args:
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imbalance_ratio (float): ``IB = n_max / n_min`` of this split (>= 1;
            1 gives ``n_max`` images of every class). Defaults to 10.
        imb_type (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        reverse (bool): Backward long tail. Defaults to False.
        seed (int): Seed of the down-sampling (the train/test split itself
            is fixed). Defaults to 0.
        train_imbalance_ratio (float, optional): ``IB`` of the training
            split, for ``metainfo['train_class_counts']``. Required for
            ``'test'``; for ``'train'`` None or ``imbalance_ratio``.
        test_per_class (int): Test images per class (1..173). Defaults to 50.
        pipeline (Sequence): Transforms. Defaults to ().
        test_mode (bool): Defaults to False.
        batch_fetch (bool): Hand the DataLoader whole uint8 batches (see
            :mod:`.batch_fetch`). Defaults to False.
        **kwargs: Passed to mmpretrain's ``BaseDataset`` (``lazy_init``,
            ``metainfo``, ``data_root`` (unused), ...).

    ``metainfo``: ``classes`` ``('0', ..., '9')`` and the long-tail entries of
    :class:`LongTailMixin` (``train_class_counts``, ``class_counts``,
    ``imbalance_ratio``, ...).
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    def __init__(self,
                 split: str = 'train',
                 imbalance_ratio: float = 10,
                 imb_type: str = 'exp',
                 reverse: bool = False,
                 seed: int = 0,
                 train_imbalance_ratio: Optional[float] = None,
                 test_per_class: int = 50,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 batch_fetch: bool = False,
                 **kwargs):
        self._init_batch_fetch(batch_fetch)
        self._init_long_tail(split, imbalance_ratio, imb_type, reverse, seed,
                             train_imbalance_ratio)
        name = type(self).__name__
        smallest = 174  # images of the smallest digit class (8)
        if isinstance(test_per_class, bool) or \
                not isinstance(test_per_class, int) or \
                not 1 <= test_per_class < smallest:
            raise ValueError(f'{name}: test_per_class must be an int in '
                             f'[1, {smallest - 1}], but got '
                             f'{test_per_class!r}')
        self.test_per_class = test_per_class
        kwargs.setdefault('ann_file', '')
        super().__init__(pipeline=pipeline, test_mode=test_mode, **kwargs)
        self._metainfo.update(self._long_tail_metainfo())

    def load_data_list(self) -> List[dict]:
        """The split's long-tailed subset as ``{'img', 'gt_label'}`` dicts."""
        imgs, labels = _digits()
        split_idx = _fixed_split(labels, self.test_per_class, self.split)
        keep = self._long_tail_keep(
            labels[split_idx], lambda: labels[_fixed_split(
                labels, self.test_per_class, 'train')])
        return [
            dict(img=np.array(imgs[i]), gt_label=int(labels[i]))
            for i in split_idx[keep]
        ]

    def extra_repr(self) -> List[str]:
        return [
            f'Split: \t{self.split} ({self.test_per_class} test images per '
            'class)',
            self._long_tail_repr()
        ]
