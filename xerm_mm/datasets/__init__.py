"""Long-tailed datasets (CIFAR10-LT, CIFAR100-LT, DigitsLT) and profiles."""
from .batch_fetch import (BatchFetchMixin, FetchedBatch,
                          collate_fetched_batch)
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .digits_lt import DigitsLT
from .long_tail_mixin import LongTailMixin
from .lt_profile import (check_lt_args, img_num_per_cls, long_tail_indices,
                         long_tail_subset)

__all__ = [
    'BatchFetchMixin', 'FetchedBatch', 'collate_fetched_batch',
    'CIFAR10LT', 'CIFAR100LT', 'DigitsLT', 'LongTailMixin', 'img_num_per_cls',
    'long_tail_indices', 'long_tail_subset', 'check_lt_args'
]
