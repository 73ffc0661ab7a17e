"""ImageNet-LT, Places365-LT and iNaturalist 2018 from the published lists."""
from typing import Optional

from xerm_mm.registry import DATASETS
from .long_tail_list import LongTailListDataset

__all__ = ['ImageNetLT', 'Places365LT', 'INaturalist2018']


class _PublishedListDataset(LongTailListDataset):
    """A benchmark whose splits are the published list files.

    Subclasses set ``LIST_NAME`` (with ``{split}``), ``SPLITS``,
    ``NUM_CLASSES`` and ``IMBALANCED_TEST``.

    Args:
        data_root (str): Root of the images and the lists.
        split (str): One of ``SPLITS``. Defaults to ``'train'``.
        ann_file (str): This split's list; defaults to the published name.
        train_ann_file (str, optional): The training list; defaults to the
            published name.
        imbalance_ratio (float): Imbalanced test set of a val / test split
            (1 = the whole list). Defaults to 1.
        reverse (bool): Backward imbalanced test set. Defaults to False.
        **kwargs: Passed to :class:`LongTailListDataset` (``pipeline``,
            ``data_prefix``, ``classes``, ``num_classes``, ...).
    """

    LIST_NAME = ''
    SPLITS = ('train', 'val', 'test')
    NUM_CLASSES = 0
    IMBALANCED_TEST = True

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: str = '',
                 train_ann_file: Optional[str] = None,
                 imbalance_ratio: float = 1,
                 reverse: bool = False,
                 **kwargs):
        name = type(self).__name__
        if split not in self.SPLITS:
            raise ValueError(f'{name}: split must be one of {self.SPLITS}, '
                             f'but got {split!r}')
        if (imbalance_ratio != 1 or reverse) and (split == 'train'
                                                  or not self.IMBALANCED_TEST):
            raise ValueError(
                f"{name}(split='{split}'): imbalance_ratio / reverse build "
                'an imbalanced test set, available on the val / test splits' +
                ('' if self.IMBALANCED_TEST else ' of ImageNetLT and '
                 'Places365LT only'))
        self.split = split
        if kwargs.get('classes') is None:
            kwargs.setdefault('num_classes', self.NUM_CLASSES)
        super().__init__(
            ann_file=ann_file or self.LIST_NAME.format(split=split),
            train_ann_file=(train_ann_file if train_ann_file is not None else
                            self.LIST_NAME.format(split='train')),
            data_root=data_root,
            imbalance_ratio=imbalance_ratio,
            reverse=reverse,
            **kwargs)


@DATASETS.register_module()
class ImageNetLT(_PublishedListDataset):
    """ImageNet-LT: 1,000 classes, lists ``ImageNet_LT_{train,val,test}.txt``.

    Arguments: :class:`_PublishedListDataset`.
    """
    LIST_NAME = 'ImageNet_LT_{split}.txt'
    NUM_CLASSES = 1000


@DATASETS.register_module()
class Places365LT(_PublishedListDataset):
    """Places365-LT: 365 classes, lists ``Places_LT_{train,val,test}.txt``.

    Arguments: :class:`_PublishedListDataset`.
    """
    LIST_NAME = 'Places_LT_{split}.txt'
    NUM_CLASSES = 365


@DATASETS.register_module()
class INaturalist2018(_PublishedListDataset):
    """iNaturalist 2018: 8,142 classes, ``iNaturalist18_{train,val}.txt``.

    Arguments: :class:`_PublishedListDataset`.
    """
    LIST_NAME = 'iNaturalist18_{split}.txt'
    SPLITS = ('train', 'val')
    NUM_CLASSES = 8142
    IMBALANCED_TEST = False
