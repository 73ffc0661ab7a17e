"""CIFAR10-LT and CIFAR100-LT: mmpretrain's CIFAR, down-sampled to a long tail.

Each split is loaded by mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` /
:class:`~mmpretrain.datasets.CIFAR100` (pickles of the official archive) and
then reduced to the long-tailed profile of :mod:`.lt_profile`, with ``n_max``
the per-class count of the split (CIFAR-100: 500 train / 100 test):

    n_i = int(n_max * IB^(-i / (C - 1)))

The training split of the literature is ``imbalance_ratio`` 100 / 50 / 10
with seed 0 (CIFAR-100: 10,847 / 12,608 / 19,573 images); ``imbalance_ratio=1``
keeps a split whole and in order (the balanced test set).

Before use, the split's files are checked (:mod:`.cifar_checks`): they load,
hold uint8 32x32x3 images with labels in range, few constant images and the
split's number of images per class; an error names the file and the fault.
"""
import logging
from typing import Dict, List, Optional

import numpy as np
from mmengine.fileio import exists, join_path
from mmengine.logging import print_log
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5

from xerm_mm.registry import DATASETS
from .batch_fetch import BatchFetchMixin
from .cifar_checks import check_class_counts, load_cifar_file
from .long_tail_mixin import LongTailMixin

__all__ = ['CIFAR10LT', 'CIFAR100LT']


class _CIFARLT(BatchFetchMixin, LongTailMixin):
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
        images_per_class (dict, optional): Images per class the files of
            each split must hold, ``dict(train=N, test=M)``; None: the
            official split's (``official_images_per_class``). Set it only
            for a reduced copy of the data (the tests' fake CIFAR).
        batch_fetch (bool): Hand the DataLoader whole uint8 batches (needs
            the pipeline ``[PackInputs]`` and ``collate_fn=dict(type=
            'xerm_mm.collate_fetched_batch')``; see :mod:`.batch_fetch`).
            Defaults to False.
        **kwargs: Passed to mmpretrain's CIFAR (``pipeline``, ``test_mode``,
            ``metainfo``, ``lazy_init``, ...).

    The long-tail arguments and the ``metainfo`` they give are those of
    :class:`LongTailMixin`. Whether the files' md5 is the official
    archive's is logged (information only: a re-packed copy differs); the
    content checks of :mod:`.cifar_checks` decide whether the data is used.
    """

    #: Where the configs look for the data (``data_root``).
    default_data_root = ''
    #: Key of the labels in the pickles.
    label_key = 'labels'
    #: Images per class of the official splits.
    official_images_per_class: Dict[str, int] = {}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imbalance_ratio: float = 100,
                 imb_type: str = 'exp',
                 reverse: bool = False,
                 seed: int = 0,
                 train_imbalance_ratio: Optional[float] = None,
                 download: bool = False,
                 images_per_class: Optional[Dict[str, int]] = None,
                 batch_fetch: bool = False,
                 **kwargs):
        self._init_batch_fetch(batch_fetch)
        self._init_long_tail(split, imbalance_ratio, imb_type, reverse, seed,
                             train_imbalance_ratio)
        self.images_per_class = self._check_images_per_class(
            images_per_class)
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

    def _check_images_per_class(self, value) -> Dict[str, int]:
        official = dict(self.official_images_per_class)
        if value is None:
            return official
        if not isinstance(value, dict) or set(value) != set(official) or \
                not all(isinstance(n, int) and not isinstance(n, bool)
                        and n >= 1 for n in value.values()):
            raise ValueError(
                f'{type(self).__name__}: images_per_class must be a dict of '
                f'positive ints with the keys {sorted(official)} (the '
                f'official: {official}), but got {value!r}')
        return dict(value)

    @property
    def _folder(self) -> str:
        return join_path(self.data_prefix['root'], self.base_folder)

    def _missing_files(self) -> List[str]:
        return [
            name for name, _ in self.train_list + self.test_list
            if not exists(join_path(self._folder, name))
        ]

    def _check_integrity(self) -> bool:
        """True when all data files exist; log once whether the md5s match."""
        if self._missing_files():
            return False
        if not self._md5_checked:
            self._md5_checked = True
            bad = [
                name for name, md5 in self.train_list + self.test_list
                if md5 is not None
                and not check_md5(join_path(self._folder, name), md5)
            ]
            print_log(
                f'{type(self).__name__}: the md5 of {bad} in '
                f"'{self._folder}' differs from the official archive's (a "
                're-packed copy?); their content is checked instead' if bad
                else
                f"{type(self).__name__}: the files in '{self._folder}' have "
                "the official archive's md5",
                logger='current',
                level=logging.INFO)
        return True

    def _split_labels(self, file_list) -> np.ndarray:
        """The checked labels of a split's files (:mod:`.cifar_checks`)."""
        paths = [join_path(self._folder, name) for name, _ in file_list]
        num_classes = len(self.METAINFO['classes'])
        labels = np.concatenate([
            load_cifar_file(path, self.label_key, num_classes)[1]
            for path in paths
        ])
        split = 'train' if file_list is self.train_list else 'test'
        check_class_counts(labels, self.images_per_class[split], num_classes,
                           paths, split)
        return labels

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
        if not missing:  # downloaded files are md5-checked by mmpretrain
            self._split_labels(self.train_list if self.split ==
                               'train' else self.test_list)
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
    official_images_per_class = dict(train=5000, test=1000)


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
    label_key = 'fine_labels'
    official_images_per_class = dict(train=500, test=100)
