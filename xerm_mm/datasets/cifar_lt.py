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
from .long_tail_mixin import LongTailMixin

__all__ = ['CIFAR10LT', 'CIFAR100LT']


class _CIFARLT(LongTailMixin):
    """Long-tailed down-sampling on top of mmpretrain's CIFAR loaders.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py/`` or
            ``cifar-100-python/`` (the configs' default: ``data/cifar10`` or
            ``data/cifar100``; ``--data-root`` of the tools overrides it).
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        imbalance_ratio (float): ``IB`` of this split. Defaults to 100.
        imb_type (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        reverse (bool): Backward long tail. Defaults to False.
        seed (int): Seed of the down-sampling. Defaults to 0.
        train_imbalance_ratio (float, optional): ``IB`` of the training
            split. Required for ``split='test'``.
        download (bool): Download the archive (md5-checked) when the data
            files are missing. Defaults to False.
        **kwargs: Passed to mmpretrain's CIFAR (``pipeline``, ``test_mode``,
            ``metainfo``, ``lazy_init``, ...).

    The long-tail arguments and the ``metainfo`` they give are those of
    :class:`LongTailMixin`. Data files whose md5 differs from the official
    archive's (a re-packed copy) are used with a warning.
    """

    #: Where the configs look for the data (``data_root``).
    default_data_root = ''

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
        self._init_long_tail(split, imbalance_ratio, imb_type, reverse, seed,
                             train_imbalance_ratio)
        if not data_root and not kwargs.get('data_prefix'):
            raise ValueError(
                f'{type(self).__name__} needs data_root: a folder that holds '
                f'{self.base_folder}/ (or download=True to fetch it there)')
        self._md5_checked = False
        super().__init__(data_root=data_root,
                         split=split,
                         download=download,
                         **kwargs)
        self._metainfo.update(self._long_tail_metainfo())

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
                f'(missing {missing}). Put the python version of the '
                f'archive ({self.base_folder}/) in {self.default_data_root}/ '
                '(where the configs look by default), or point the tools at '
                'the folder that holds it with --data-root PATH (e.g. '
                f'tools/train.py CONFIG --data-root PATH), or set data_root '
                'in the config (--cfg-options '
                'train_dataloader.dataset.data_root=PATH '
                'val_dataloader.dataset.data_root=PATH '
                'test_dataloader.dataset.data_root=PATH), or use '
                f'download=True to fetch {self.url}.')
        data_list = super().load_data_list()
        labels = [info['gt_label'] for info in data_list]
        keep = self._long_tail_keep(
            labels, lambda: self._split_labels(self.train_list))
        return [data_list[i] for i in keep]

    def extra_repr(self) -> List[str]:
        return super().extra_repr() + [self._long_tail_repr()]


@DATASETS.register_module()
class CIFAR10LT(_CIFARLT, CIFAR10):
    """CIFAR10-LT: CIFAR-10 (5,000 / 1,000 images per class) with a long
    tail. See :class:`_CIFARLT` for the arguments.

    Examples:
        >>> ds = CIFAR10LT('data/cifar10', split='test', imbalance_ratio=1,
        ...                train_imbalance_ratio=100)
    """

    default_data_root = 'data/cifar10'


@DATASETS.register_module()
class CIFAR100LT(_CIFARLT, CIFAR100):
    """CIFAR100-LT: CIFAR-100 (500 / 100 images per class) with a long tail.
    See :class:`_CIFARLT` for the arguments.

    Examples:
        >>> ds = CIFAR100LT('data/cifar100', imbalance_ratio=100)
        >>> len(ds)
        10847
    """

    default_data_root = 'data/cifar100'
