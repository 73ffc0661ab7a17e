"""CIFAR10-LT and CIFAR100-LT: mmpretrain's CIFAR, down-sampled to a long tail.

Each split is loaded by mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` /
:class:`~mmpretrain.datasets.CIFAR100` (pickles of the official archive) and
then reduced to the long-tailed profile of :mod:`.lt_profile`, with ``n_max``
the per-class count of the split (CIFAR-100: 500 train / 100 test):

    n_i = int(n_max * IB^(-i / (C - 1)))

The training split of the literature is ``imbalance_ratio`` 100 / 50 / 10
with seed 0 (CIFAR-100: 10,847 / 12,608 / 19,573 images); ``imbalance_ratio=1``
keeps a split whole and in order (the balanced test set).
"""
import pickle
import warnings
from typing import List, Optional

import numpy as np
from mmengine.fileio import exists, get, join_path
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5

from xerm_mm.registry import DATASETS
from .lt_profile import check_lt_args, img_num_per_cls, long_tail_subset

__all__ = ['CIFAR10LT', 'CIFAR100LT']


class _CIFARLTMixin:
    """Long-tailed down-sampling on top of mmpretrain's CIFAR loaders.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py/`` or
            ``cifar-100-python/``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imbalance_ratio (float): ``IB = n_max / n_min`` of this split (>= 1;
            1 keeps the split whole). Defaults to 100.
        imb_type (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        reverse (bool): Backward long tail (last class largest).
            Defaults to False.
        seed (int): Seed of the down-sampling. Defaults to 0.
        train_imbalance_ratio (float, optional): ``IB`` of the training split
            this split belongs to (forward profile, same ``imb_type``); it
            defines ``metainfo['train_class_counts']``. Required for
            ``split='test'``; for ``'train'`` None or ``imbalance_ratio``.
        download (bool): Download the archive (md5-checked) when the data
            files are missing. Defaults to False.
        **kwargs: Passed to mmpretrain's CIFAR (``pipeline``, ``test_mode``,
            ``metainfo``, ``lazy_init``, ...).

    ``metainfo`` gets ``train_class_counts`` and ``class_counts`` (tuples of
    ints, set when the data is loaded, i.e. after ``full_init``) and
    ``imbalance_ratio``, ``train_imbalance_ratio``, ``imb_type``,
    ``reverse``. Data files whose md5 differs from the official archive's
    (a re-packed copy) are used with a warning.
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imbalance_ratio: float = 100,
                 imb_type: str = 'exp',
                 reverse: bool = False,
                 seed: int = 0,
                 train_imbalance_ratio: Optional[float] = None,
                 download: bool = False,
                 **kwargs):
        name = type(self).__name__
        check_lt_args(name, split, imbalance_ratio, imb_type,
                      train_imbalance_ratio)
        if not data_root and not kwargs.get('data_prefix'):
            raise ValueError(
                f'{name} needs data_root: a folder that holds '
                f'{self.base_folder}/ (or download=True to fetch it there)')
        self.imbalance_ratio = imbalance_ratio
        self.train_imbalance_ratio = (imbalance_ratio if train_imbalance_ratio
                                      is None else train_imbalance_ratio)
        self.imb_type = imb_type
        self.reverse = bool(reverse)
        self.seed = seed
        self._md5_checked = False
        super().__init__(data_root=data_root,
                         split=split,
                         download=download,
                         **kwargs)
        self._metainfo.update(self._lt_metainfo())

    def _lt_metainfo(self) -> dict:
        return dict(imbalance_ratio=self.imbalance_ratio,
                    train_imbalance_ratio=self.train_imbalance_ratio,
                    imb_type=self.imb_type,
                    reverse=self.reverse)

    @property
    def _folder(self) -> str:
        return join_path(self.data_prefix['root'], self.base_folder)

    def _missing_files(self) -> List[str]:
        return [
            name for name, _ in self.train_list + self.test_list
            if not exists(join_path(self._folder, name))
        ]

    def _check_integrity(self) -> bool:
        """True when all data files exist; warn once if an md5 differs."""
        if self._missing_files():
            return False
        if not self._md5_checked:
            self._md5_checked = True
            bad = [
                name for name, md5 in self.train_list + self.test_list
                if md5 is not None
                and not check_md5(join_path(self._folder, name), md5)
            ]
            if bad:
                warnings.warn(
                    f'{type(self).__name__}: the md5 of {bad} in '
                    f"'{self._folder}' differs from the official archive's; "
                    'loading them anyway (e.g. a re-packed copy of the data)')
        return True

    def _split_labels(self, file_list) -> np.ndarray:
        labels = []
        for name, _ in file_list:
            entry = pickle.loads(get(join_path(self._folder, name)),
                                 encoding='latin1')
            labels.extend(entry.get('labels', entry.get('fine_labels', [])))
        return np.asarray(labels, dtype=np.int64)

    def load_data_list(self) -> List[dict]:
        """Load the split with mmpretrain, then keep the long-tailed subset."""
        missing = self._missing_files()
        if missing and not self.download:
            raise FileNotFoundError(
                f"{type(self).__name__}: no data in '{self._folder}' "
                f'(missing {missing}). Use download=True to fetch '
                f'{self.url}, or set data_root to a folder that holds '
                f'{self.base_folder}/ (e.g. --cfg-options '
                'train_dataloader.dataset.data_root=PATH '
                'val_dataloader.dataset.data_root=PATH '
                'test_dataloader.dataset.data_root=PATH).')
        data_list = super().load_data_list()
        num_classes = len(self.CLASSES)
        labels = [info['gt_label'] for info in data_list]
        keep, counts = long_tail_subset(labels, num_classes,
                                        self.imbalance_ratio, self.imb_type,
                                        self.reverse, self.seed)
        data_list = [data_list[i] for i in keep]
        if self.split == 'train':
            train_counts = counts
        else:
            train_labels = self._split_labels(self.train_list)
            train_n_max = int(
                np.bincount(train_labels, minlength=num_classes).min())
            train_counts = img_num_per_cls(train_n_max, num_classes,
                                           self.train_imbalance_ratio,
                                           self.imb_type)
        self._metainfo.update(self._lt_metainfo(),
                              train_class_counts=tuple(
                                  int(n) for n in train_counts),
                              class_counts=tuple(int(n) for n in counts))
        return data_list

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Long tail: \timbalance_ratio={self.imbalance_ratio}, '
                    f'imb_type={self.imb_type}, reverse={self.reverse}, '
                    f'seed={self.seed}')
        return body


@DATASETS.register_module()
class CIFAR10LT(_CIFARLTMixin, CIFAR10):
    """CIFAR10-LT: CIFAR-10 (5,000 / 1,000 images per class) with a long
    tail. See :class:`_CIFARLTMixin` for the arguments.

    Examples:
        >>> ds = CIFAR10LT('data/cifar10', split='test', imbalance_ratio=1,
        ...                train_imbalance_ratio=100)
    """


@DATASETS.register_module()
class CIFAR100LT(_CIFARLTMixin, CIFAR100):
    """CIFAR100-LT: CIFAR-100 (500 / 100 images per class) with a long tail.
    See :class:`_CIFARLTMixin` for the arguments.

    Examples:
        >>> ds = CIFAR100LT('data/cifar100', imbalance_ratio=100)
        >>> len(ds)
        10847
    """
