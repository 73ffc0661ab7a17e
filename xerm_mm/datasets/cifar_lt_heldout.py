"""Held-out data of CIFAR-LT: the training images the long-tailed split leaves
out (docs/datasets.md, "CIFAR10LT, CIFAR100LT").
"""
from typing import Callable, Optional, Sequence

import numpy as np

from xerm_mm.registry import DATASETS
from .cifar_lt import CIFAR10LT, CIFAR100LT


class _HeldOutMixin:
    """Keep the complement of the long-tailed training subset.

    Args:
        max_per_class (int, optional): Cap per class (the first images of
            each class in file order); None keeps all. Defaults to 100.
        **kwargs: Those of the CIFAR-LT dataset; ``split`` must be
            ``'train'`` (the held-out images are training images) and
            ``imbalance_ratio`` the training split's.
    """

    def __init__(self, *args, max_per_class: Optional[int] = 100, **kwargs):
        if kwargs.get('split', 'train') != 'train':
            raise ValueError(
                f"{type(self).__name__}: split must be 'train' (the held-out "
                'images are the training images the long-tailed split '
                f"leaves out), got {kwargs['split']!r}")
        if max_per_class is not None and (
                isinstance(max_per_class, bool)
                or not isinstance(max_per_class, int) or max_per_class < 1):
            raise ValueError(f'{type(self).__name__}: max_per_class must be '
                             f'None or a positive int, got {max_per_class!r}')
        self.max_per_class = max_per_class
        super().__init__(*args, **kwargs)

    def _long_tail_keep(
            self, labels: Sequence[int],
            train_labels: Callable[[], Sequence[int]]) -> np.ndarray:
        """The images NOT in the long-tailed training subset (capped)."""
        train_keep = super()._long_tail_keep(labels, train_labels)
        labels = np.asarray(labels, dtype=np.int64)
        unused = np.ones(len(labels), dtype=bool)
        unused[train_keep] = False
        keep = []
        counts = np.zeros(len(self.CLASSES), dtype=np.int64)
        for i in np.flatnonzero(unused):
            if self.max_per_class is None or \
                    counts[labels[i]] < self.max_per_class:
                keep.append(i)
                counts[labels[i]] += 1
        self._metainfo.update(class_counts=tuple(int(n) for n in counts))
        return np.asarray(keep, dtype=np.int64)


@DATASETS.register_module()
class CIFAR10LTHeldOut(_HeldOutMixin, CIFAR10LT):
    """The CIFAR-10 training images that CIFAR10-LT leaves out (see
    :class:`_HeldOutMixin`)."""


@DATASETS.register_module()
class CIFAR100LTHeldOut(_HeldOutMixin, CIFAR100LT):
    """The CIFAR-100 training images that CIFAR100-LT leaves out (see
    :class:`_HeldOutMixin`).

    Examples:
        >>> ds = CIFAR100LTHeldOut('data/cifar100', imbalance_ratio=100)
    """
