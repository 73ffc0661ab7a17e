"""Long-tailed datasets (CIFAR10-LT, CIFAR100-LT, DigitsLT, list-file
benchmarks: ImageNet-LT, Places365-LT, iNaturalist 2018) and profiles."""
from .batch_fetch import (BatchFetchMixin, FetchedBatch,
                          collate_fetched_batch)
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .cifar_lt_heldout import CIFAR10LTHeldOut, CIFAR100LTHeldOut
from .class_balanced_sampler import ClassBalancedSampler, dataset_labels
from .digits_lt import DigitsLT
from .imbalanced_test_sets import imbalanced_test_indices
from .list_file import read_list_file
from .long_tail_list import LongTailListDataset
from .long_tail_mixin import LongTailMixin
from .lt_benchmarks import INaturalist2018, ImageNetLT, Places365LT
from .lt_profile import (check_lt_args, img_num_per_cls, long_tail_indices,
                         long_tail_subset)

__all__ = [
    'BatchFetchMixin', 'FetchedBatch', 'collate_fetched_batch',
    'CIFAR10LT', 'CIFAR100LT', 'DigitsLT', 'LongTailMixin', 'img_num_per_cls',
    'long_tail_indices', 'long_tail_subset', 'check_lt_args',
    'LongTailListDataset', 'ImageNetLT', 'Places365LT', 'INaturalist2018',
    'read_list_file', 'imbalanced_test_indices', 'ClassBalancedSampler',
    'dataset_labels', 'CIFAR10LTHeldOut', 'CIFAR100LTHeldOut'
]
