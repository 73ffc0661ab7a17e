"""LongTailListDataset: a long-tailed split given as a list file or an
image-folder tree (docs/datasets.md).
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import exists, get_file_backend, join_path
from mmengine.utils import is_abs
from mmpretrain.datasets import BaseDataset

from mmengine.logging import MMLogger

from xerm_mm.registry import DATASETS
from .folder_tree import IMG_EXTENSIONS, class_folders, scan_tree
from .imbalanced_test_sets import imbalanced_test_indices
from .list_file import read_list_file
from .lt_profile import img_num_per_cls

__all__ = ['LongTailListDataset']


@DATASETS.register_module()
class LongTailListDataset(BaseDataset):
    """A long-tailed image-classification split: a list file or a tree.

    ``metainfo`` holds ``classes``, ``train_class_counts``, ``class_counts``,
    ``imbalance_ratio`` and ``reverse``, as the CIFAR-LT datasets do
    (docs/datasets.md).

    Args:
        ann_file (str, optional): This split's list, relative to
            ``data_root`` unless absolute. Empty or None: this split is the
            folder tree at ``data_root`` / ``data_prefix``.
        train_ann_file (str, optional): The training list, relative to
            ``data_root`` unless absolute. Defaults to ``ann_file`` (this
            split is the training split).
        data_root (str): Root of the images and lists. Defaults to ''.
        data_prefix (str | dict): Prefix of the image paths, relative to
            ``data_root``. Defaults to ''.
        classes (str | Sequence[str], optional): Class names (or a file of
            them).
        num_classes (int, optional): Number of classes when ``classes`` is
            not given (names ``'0'`` .. ``'C-1'``). With neither, it is the
            largest label of the training list plus one. On a tree it
            must equal the number of class folders.
        imbalance_ratio (float): Keep the imbalanced test subset of this list
            (see :mod:`.imbalanced_test_sets`); 1 keeps the whole list.
            Only on a list other than the training list. Defaults to 1.
        reverse (bool): Backward imbalanced test set. Defaults to False.
        train_data_prefix (str, optional): Tree form: the training tree,
            relative to ``data_root`` unless absolute. Defaults to this
            split's tree (this split is the training split).
        extensions (Sequence[str]): Tree form: image extensions (any case).
            Defaults to mmpretrain ``CustomDataset``'s.
        **kwargs: Passed to mmpretrain's ``BaseDataset`` (``pipeline``,
            ``test_mode``, ``lazy_init``, ``serialize_data``, ...).
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 train_ann_file: Optional[str] = None,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 classes: Union[str, Sequence[str], None] = None,
                 num_classes: Optional[int] = None,
                 imbalance_ratio: float = 1,
                 reverse: bool = False,
                 train_data_prefix: Optional[str] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 **kwargs):
        name = type(self).__name__
        ann_file = ann_file or ''
        self.is_tree = not ann_file
        if self.is_tree and train_ann_file is not None:
            raise ValueError(
                f'{name}: train_ann_file={train_ann_file!r} needs ann_file '
                f'(a list); with a folder tree set train_data_prefix')
        if not self.is_tree and train_data_prefix is not None:
            raise ValueError(
                f'{name}: train_data_prefix={train_data_prefix!r} is for a '
                f'folder tree (no ann_file); with lists set train_ann_file')
        if self.is_tree and not (data_root or data_prefix):
            raise ValueError(
                f'{name}: set ann_file (a list file) or data_root / '
                f'data_prefix (a folder of class subfolders)')
        self.extensions = tuple(extensions)
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int)
                                        or num_classes < 1):
            raise ValueError(f'{name}: num_classes must be an int >= 1, '
                             f'but got {num_classes!r}')
        img_num_per_cls(1, 1, imbalance_ratio)  # checks it is >= 1
        self.num_classes = num_classes
        self.imbalance_ratio = imbalance_ratio
        self.reverse = bool(reverse)
        own = ann_file if not self.is_tree else (data_prefix.get(
            'img_path', '') if isinstance(data_prefix, dict) else data_prefix)
        train = train_ann_file if not self.is_tree else train_data_prefix
        self.train_ann_file = self._rooted(own if train is None else train,
                                           data_root)
        self._is_train_list = train is None or \
            self._same(self.train_ann_file, self._rooted(own, data_root))
        if self._is_train_list and (imbalance_ratio != 1 or self.reverse):
            raise ValueError(
                f'{name}: imbalance_ratio / reverse build an imbalanced '
                f'TEST set; they do not apply to the training list '
                f'{self.train_ann_file}')
        if classes is None and num_classes is not None and not self.is_tree:
            classes = tuple(str(c) for c in range(num_classes))
        super().__init__(ann_file=ann_file,
                         data_root=data_root,
                         data_prefix=data_prefix,
                         classes=classes,
                         **kwargs)

    @staticmethod
    def _rooted(path: str, data_root: str) -> str:
        """``path`` joined to ``data_root`` unless absolute (as mmengine)."""
        path = osp.expanduser(path)
        return path if is_abs(path) or not data_root else join_path(
            data_root, path)

    @staticmethod
    def _same(a: str, b: str) -> bool:
        return osp.normpath(a or '.') == osp.normpath(b or '.')

    def _read(self, path: str, what: str, hint: str):
        if not exists(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: {what} {path} not found; {hint}')
        paths, labels = read_list_file(path)
        if not paths:
            raise ValueError(
                f'{type(self).__name__}: {what} {path} has no entry (one '
                '"relative/path label" per line); give the list of the '
                'split, or write it again (an interrupted copy?)')
        return paths, labels

    def _num_classes(self, train_labels: np.ndarray) -> int:
        """Set ``metainfo['classes']`` when not given; return ``C``."""
        classes = self._metainfo.get('classes')
        if classes is not None:
            if self.num_classes is not None and \
                    self.num_classes != len(classes):
                raise ValueError(
                    f'{type(self).__name__}: num_classes={self.num_classes} '
                    f'but {len(classes)} class names were given')
            return len(classes)
        num = self.num_classes
        if num is None:
            num = int(train_labels.max()) + 1 if train_labels.size else 0
        self._metainfo['classes'] = tuple(str(c) for c in range(num))
        return num

    def _check_range(self, labels: np.ndarray, num: int, path: str) -> None:
        if labels.size and (labels.max() >= num):
            line = int(np.argmax(labels >= num))
            raise ValueError(
                f'{path}: label {int(labels[line])} of entry {line + 1} is '
                f'out of range for {num} classes (set classes= or '
                f'num_classes= to the number of classes of the dataset)')

    def _read_lists(self):
        """This split's paths and labels, and the training labels."""
        paths, labels = self._read(self.ann_file, 'list file',
                                   'set data_root or ann_file')
        if self._is_train_list:
            return paths, labels, labels
        _, train_labels = self._read(
            self.train_ann_file, 'training list',
            'set train_ann_file= to the list of the training split (its '
            'class counts define metainfo["train_class_counts"], the '
            'many / medium / few groups and the prior)')
        return paths, labels, train_labels

    def _scan_trees(self):
        """The tree form of :meth:`_read_lists`; classes = train folders."""
        name = type(self).__name__
        train_root = self.train_ann_file
        folders = class_folders(train_root, f'{name}: training tree')
        to_idx = {f: i for i, f in enumerate(folders)}
        given = self._metainfo.get('classes')
        if given is not None and len(given) != len(folders):
            raise ValueError(
                f'{name}: {len(given)} class names were given but the '
                f'training tree {train_root} has {len(folders)} class '
                f'folders: {", ".join(folders)}')
        if given is None:
            self._metainfo['classes'] = tuple(folders)
        train_paths, train_labels = scan_tree(train_root, to_idx,
                                              self.extensions)
        if not train_labels.size:
            raise ValueError(
                f'{name}: no image in the class folders of the training tree '
                f'{train_root} (extensions: {", ".join(self.extensions)})')
        if self._is_train_list:
            return train_paths, train_labels, train_labels
        own = class_folders(self.img_prefix, f'{name}: tree')
        extra = sorted(set(own) - set(to_idx))
        if extra:
            raise ValueError(
                f'{name}: the class folders {", ".join(extra)} of '
                f'{self.img_prefix} are not in the training tree '
                f'{train_root} (its classes: {", ".join(folders)}); rename '
                f'or remove them, or set train_data_prefix')
        missing = sorted(set(to_idx) - set(own))
        if missing:
            MMLogger.get_current_instance().warning(
                f'{name}: {self.img_prefix} has no folder for the training '
                f'classes {", ".join(missing)}: their count is 0')
        paths, labels = scan_tree(self.img_prefix, {f: to_idx[f]
                                                    for f in own},
                                  self.extensions)
        if not labels.size:
            raise ValueError(
                f'{name}: no image in the class folders of {self.img_prefix} '
                f'(extensions: {", ".join(self.extensions)})')
        return paths, labels, train_labels

    def load_data_list(self) -> List[dict]:
        """Read the lists (or trees); fill the counts in ``metainfo``."""
        paths, labels, train_labels = (self._scan_trees()
                                       if self.is_tree else self._read_lists())
        num = self._num_classes(train_labels)
        self._check_range(train_labels, num, self.train_ann_file)
        self._check_range(labels, num, self.ann_file)
        train_counts = np.bincount(train_labels, minlength=num)
        if self.imbalance_ratio == 1 and not self.reverse:
            keep = np.arange(labels.size)
        else:
            keep, _ = imbalanced_test_indices(labels, train_counts,
                                              self.imbalance_ratio,
                                              self.reverse)
        counts = np.bincount(labels[keep], minlength=num)
        self._metainfo.update(train_class_counts=tuple(
            int(n) for n in train_counts),
                              class_counts=tuple(int(n) for n in counts),
                              imbalance_ratio=self.imbalance_ratio,
                              reverse=self.reverse)
        join = get_file_backend(self.img_prefix or '.',
                                enable_singleton=True).join_path
        prefix = self.img_prefix
        return [
            dict(img_path=join(prefix, paths[i]) if prefix else paths[i],
                 gt_label=int(labels[i])) for i in keep.tolist()
        ]

    def extra_repr(self) -> List[str]:
        """The extra repr lines: lists and the imbalanced-test arguments."""
        return super().extra_repr() + [
            f'Training {"tree" if self.is_tree else "list"}: '
            f'\t{self.train_ann_file}',
            f'Imbalanced test: \timbalance_ratio={self.imbalance_ratio}, '
            f'reverse={self.reverse}'
        ]
