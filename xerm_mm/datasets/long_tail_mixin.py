"""The long-tailed split shared by the datasets of the package."""
from typing import Callable, Optional, Sequence

import numpy as np

from .lt_profile import check_lt_args, img_num_per_cls, long_tail_subset

__all__ = ['LongTailMixin']


class LongTailMixin:
    """Down-sample a labelled split to a long tail and record its counts.

    Mixed in before an mmpretrain dataset class (``CIFAR10LT(LongTailMixin,
    CIFAR10)``): the dataset calls :meth:`_init_long_tail` in ``__init__``,
    :meth:`_long_tail_keep` in ``load_data_list`` and adds
    :meth:`_long_tail_metainfo` to its ``_metainfo``.

    Long-tail arguments (of :meth:`_init_long_tail`):
        split (str): ``'train'`` or ``'test'``.
        imbalance_ratio (float): ``IB = n_max / n_min`` of this split (>= 1;
            1 gives ``n_max`` images of every class).
        imb_type (str): ``'exp'`` or ``'step'``.
        reverse (bool): Backward long tail (last class largest).
        seed (int): Seed of the down-sampling.
        train_imbalance_ratio (float, optional): ``IB`` of the training split
            this split belongs to; it defines
            ``metainfo['train_class_counts']``. Required for ``split='test'``;
            for ``'train'`` None or ``imbalance_ratio``.
    """

    #: Read by the config checks (``xerm_mm.utils.config_checks``): the
    #: training counts of a test split follow ``train_imbalance_ratio``.
    has_long_tail_split = True

    def _init_long_tail(self, split: str, imbalance_ratio: float,
                        imb_type: str, reverse: bool, seed: int,
                        train_imbalance_ratio: Optional[float]) -> None:
        """Check the long-tail arguments and keep them as attributes."""
        check_lt_args(type(self).__name__, split, imbalance_ratio, imb_type,
                      train_imbalance_ratio)
        self.split = split
        self.imbalance_ratio = imbalance_ratio
        self.train_imbalance_ratio = (imbalance_ratio if train_imbalance_ratio
                                      is None else train_imbalance_ratio)
        self.imb_type = imb_type
        self.reverse = bool(reverse)
        self.seed = seed

    def _long_tail_metainfo(self) -> dict:
        """The long-tail arguments, as recorded in ``metainfo``."""
        return dict(imbalance_ratio=self.imbalance_ratio,
                    train_imbalance_ratio=self.train_imbalance_ratio,
                    imb_type=self.imb_type,
                    reverse=self.reverse)

    def _long_tail_keep(
            self, labels: Sequence[int],
            train_labels: Callable[[], Sequence[int]]) -> np.ndarray:
        """Indices of the long-tailed subset of this split's ``labels``.

        Also records ``class_counts`` (this split's) and
        ``train_class_counts`` in ``metainfo``. For a test split the latter
        is the profile of ``train_imbalance_ratio`` with ``n_max`` the
        smallest class of the whole training split.

        Args:
            labels (Sequence[int]): Class of every image of the split.
            train_labels (Callable): Returns the labels of the whole
                training split; called only for a test split.

        Returns:
            np.ndarray: The kept indices into ``labels``.
        """
        num_classes = len(self.CLASSES)
        keep, counts = long_tail_subset(labels, num_classes,
                                        self.imbalance_ratio, self.imb_type,
                                        self.reverse, self.seed)
        if self.split == 'train':
            train_counts = counts
        else:
            train_n_max = int(
                np.bincount(np.asarray(train_labels(), dtype=np.int64),
                            minlength=num_classes).min())
            train_counts = img_num_per_cls(train_n_max, num_classes,
                                           self.train_imbalance_ratio,
                                           self.imb_type)
        self._metainfo.update(self._long_tail_metainfo(),
                              train_class_counts=tuple(
                                  int(n) for n in train_counts),
                              class_counts=tuple(int(n) for n in counts))
        return keep

    def _long_tail_repr(self) -> str:
        """The ``extra_repr`` line of the long tail."""
        return (f'Long tail: \timbalance_ratio={self.imbalance_ratio}, '
                f'imb_type={self.imb_type}, reverse={self.reverse}, '
                f'seed={self.seed}')
