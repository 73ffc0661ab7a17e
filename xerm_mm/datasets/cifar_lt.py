"""CIFAR10-LT and CIFAR100-LT: mmpretrain's CIFAR, down-sampled to a long tail.

Profiles, splits and file checks: docs/datasets.md.
"""
import logging
import os
import pickle
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.fileio import exists, get, join_path
from mmengine.logging import print_log
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5

from xerm_mm.registry import DATASETS
from .batch_fetch import BatchFetchMixin
from .cifar_checks import (check_class_counts, content_digest,
                           describe_damage, load_cifar_file, noise_images)
from .long_tail_mixin import LongTailMixin

__all__ = ['CIFAR10LT', 'CIFAR100LT']

# Files whose content was found official in this process: (path, size,
# mtime) -> how. A file is checked once, not by every dataset reading it.
_VERIFIED: Dict[Tuple[str, int, int], str] = {}


def _file_id(path: str) -> Optional[Tuple[str, int, int]]:
    try:
        stat = os.stat(path)
    except OSError:  # not a local file
        return None
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns


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
            official split's (``official_images_per_class``), whose files
            must also hold the official images and labels (their content
            digest or md5). Set it only for data of your own in the CIFAR
            layout (the tests' fake CIFAR): such files are checked for
            their structure alone.
        batch_fetch (bool): Hand the DataLoader whole uint8 batches (needs
            the pipeline ``[PackInputs]`` and ``collate_fn=dict(type=
            'xerm_mm.collate_fetched_batch')``; see :mod:`.batch_fetch`).
            Defaults to False.
        **kwargs: Passed to mmpretrain's CIFAR (``pipeline``, ``test_mode``,
            ``metainfo``, ``lazy_init``, ...).

    The long-tail arguments and the ``metainfo`` they give are those of
    :class:`LongTailMixin`. A file of an official split is used when its
    :func:`~.cifar_checks.content_digest` is the published one
    (``content_digests``: any re-pack of the official images and labels, in
    any order) or its md5 the official archive's; otherwise it is refused,
    naming the file. Without a published digest (CIFAR-10), a re-pack is
    checked for noise and constant images and used with a warning.
    """

    #: Where the configs look for the data (``data_root``).
    default_data_root = ''
    #: Key of the labels in the pickles.
    label_key = 'labels'
    #: Images per class of the official splits.
    official_images_per_class: Dict[str, int] = {}
    #: ``content_digest`` of each file of the official splits.
    content_digests: Dict[str, str] = {}

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
        # Data of one's own (images_per_class given): structure checks only.
        self._own_data = images_per_class is not None
        if not data_root and not kwargs.get('data_prefix'):
            raise ValueError(
                f'{type(self).__name__} needs data_root: a folder that holds '
                f'{self.base_folder}/ (or download=True to fetch it there)')
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
        """True when all data files exist (their content: ``_verify``)."""
        return not self._missing_files()

    def _verify(self, path: str, name: str, md5: Optional[str],
                data: np.ndarray, labels: np.ndarray) -> None:
        """Refuse a file of an official split that is not the official one.

        Raises:
            ValueError: Neither the content digest nor the md5 matches;
                names the file, what looks damaged and the fix.
        """
        file_id = _file_id(path)
        if file_id is not None and file_id in _VERIFIED:
            return
        expected = self.content_digests.get(name)
        digest = content_digest(data, labels) if expected else None
        what = f"{type(self).__name__}: '{path}'"
        level = logging.INFO
        if expected and digest == expected:
            how = f'{what} holds the official images and labels (content ' \
                f'digest {digest})'
        elif md5 is not None and check_md5(path, md5):
            how = f"{what} has the official archive's md5"
        elif expected and self._partial_copy(path, name):
            how = (f'{what} holds real images only in the long-tailed '
                   'training split it declares (tools/gpu/cifar_pack.py '
                   'unpack): not compared with the official content digest')
            level = logging.WARNING
        elif expected:
            damage = describe_damage(data)
            raise ValueError(
                f"CIFAR data file '{path}' does not hold the official "
                f'{self.base_folder} {name!r} images and labels: its content '
                f'digest is {digest}, the official {expected} (images and '
                'labels in any order), and its md5 is not the official '
                f'archive\'s {md5}. '
                + (f'{damage}. ' if damage else '')
                + 'Bytes of the file were overwritten, images or labels '
                'changed or shuffled, or it is another data set. Replace it '
                'with the file of the official archive (or download=True '
                'into an empty folder). For data of your own in this layout, '
                'set images_per_class=dict(train=N, test=M) on the dataset: '
                'its structure alone is then checked.')
        else:  # no published digest: what a re-pack can be checked for
            noisy = noise_images(data)
            if len(noisy) > max(1, len(data) // 1000):
                raise ValueError(
                    f"CIFAR data file '{path}': {len(noisy)} of its "
                    f'{len(data)} images are random noise (from image '
                    f'{noisy[0]} to {noisy[-1]}): bytes of the file were '
                    'overwritten (the real CIFAR has no such image). Replace '
                    'it with the file of the official archive (or '
                    'download=True into an empty folder).')
            how = (f"{what}: the md5 differs from the official archive's "
                   '(a re-packed copy?) and no content digest is published '
                   'for it: checked for its structure, constant and noise '
                   'images only')
            level = logging.WARNING
        if file_id is not None:
            _VERIFIED[file_id] = how
        print_log(how, logger='current', level=level)

    def _partial_copy(self, path: str, name: str) -> bool:
        """Whether ``path`` is a training file restored by
        ``tools/gpu/cifar_pack.py unpack`` (real images in one long-tailed
        split only, as its ``batch_label`` says).

        Raises:
            ValueError: It is, and this dataset reads its training images
                with another ``imbalance_ratio`` or ``seed``.
        """
        entry = pickle.loads(get(path), encoding='latin1')
        found = re.search(
            r'real images only in the long-tailed split '
            r'imbalance_ratio=([0-9.e+]+) seed=(\d+)',
            str(entry.get('batch_label', '')))
        if found is None or name != 'train':
            return False
        ratio, seed = float(found.group(1)), int(found.group(2))
        if self.split == 'train' and (
                ratio, seed) != (float(self.imbalance_ratio), self.seed):
            raise ValueError(
                f"CIFAR data file '{path}' holds real images only in the "
                f'long-tailed split imbalance_ratio={ratio:g} seed={seed} '
                '(tools/gpu/cifar_pack.py unpack), but this dataset reads '
                f'imbalance_ratio={self.imbalance_ratio:g} seed={self.seed}. '
                'Pack the data for that split, or use the full data.')
        return True

    def _split_labels(self, file_list) -> np.ndarray:
        """The checked labels of a split's files (:mod:`.cifar_checks`)."""
        paths = [join_path(self._folder, name) for name, _ in file_list]
        num_classes = len(self.METAINFO['classes'])
        loaded = [
            load_cifar_file(path, self.label_key, num_classes)
            for path in paths
        ]
        labels = np.concatenate([file_labels for _, file_labels in loaded])
        split = 'train' if file_list is self.train_list else 'test'
        check_class_counts(labels, self.images_per_class[split], num_classes,
                           paths, split)
        if not self._own_data:
            for path, (name, md5), (data, file_labels) in zip(
                    paths, file_list, loaded):
                self._verify(path, name, md5, data, file_labels)
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
    # The official images and labels; the files of any exact re-pack (the
    # shared reconstruction, whose test set is ordered by class) give these.
    content_digests = dict(train='874fc1337e3483044425a40d0491cd99',
                           test='10a6a4d538e4bbccfc584ea88eebe9c8')
