"""Long-tailed datasets (CIFAR10-LT, CIFAR100-LT, DigitsLT) and profiles."""
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .digits_lt import DigitsLT
from .lt_profile import (check_lt_args, img_num_per_cls, long_tail_indices,
                         long_tail_subset)

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'DigitsLT', 'img_num_per_cls',
    'long_tail_indices', 'long_tail_subset', 'check_lt_args'
]
