"""A held-out validation split for CIFAR-LT: the training images left out.

CIFAR has no validation split, and choosing a post-hoc setting (Decoupling's
tau-norm exponent, say) on the test set would leak the test labels into the
model. The long-tailed down-sampling, however, leaves most of the official
training images unused (CIFAR100-LT IB 100 keeps 10,847 of 50,000). This
split is those images: the official training split minus the long-tailed
training subset of the same ``imbalance_ratio``, ``imb_type``, ``reverse``
and ``seed`` (so it never overlaps the training data), at most
``max_per_class`` per class, in file order.

It is balanced in its weighting, not in its counts: the head classes keep
few or no images (at IB 100 the largest class keeps all 500, so class 0 has
none; class 1 has 23; tail classes 495), so score it by the mean of the
per-class accuracies over the classes present (what
``tools/analysis_tools/choose_tau_norm.py`` does).
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
    """The CIFAR-10 training images that CIFAR10-LT leaves out (see the
    module docstring and :class:`_HeldOutMixin`)."""


@DATASETS.register_module()
class CIFAR100LTHeldOut(_HeldOutMixin, CIFAR100LT):
    """The CIFAR-100 training images that CIFAR100-LT leaves out (see the
    module docstring and :class:`_HeldOutMixin`).

    Examples:
        >>> ds = CIFAR100LTHeldOut('data/cifar100', imbalance_ratio=100)
    """
