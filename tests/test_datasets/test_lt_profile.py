"""The long-tailed profiles, the seeded split and the argument checks
(xerm_mm/datasets/lt_profile.py)."""
import re

import numpy as np
import pytest

from xerm_mm.datasets import (check_lt_args, img_num_per_cls,
                              long_tail_indices, long_tail_subset)

# ---------------------------------------------------------------- profiles


@pytest.mark.parametrize('n_max,num_classes,ib,total,first,last', [
    (500, 100, 100, 10847, 500, 5),
    (500, 100, 50, 12608, 500, 10),
    (500, 100, 10, 19573, 500, 50),
    (100, 100, 100, 2131, 100, 1),
    (5000, 10, 100, 12406, 5000, 50),
    (5000, 10, 10, 20431, 5000, 500),
    (500, 100, 1, 50000, 500, 500),
])
def test_exp_profile_matches_the_literature(n_max, num_classes, ib, total,
                                            first, last):
    counts = img_num_per_cls(n_max, num_classes, ib)
    assert len(counts) == num_classes
    assert (sum(counts), counts[0], counts[-1]) == (total, first, last)
    assert all(a >= b for a, b in zip(counts, counts[1:]))


def test_exp_profile_groups_cifar100_ib100():
    counts = img_num_per_cls(500, 100, 100)
    many = sum(n > 100 for n in counts)
    few = sum(n < 20 for n in counts)
    assert (many, 100 - many - few, few) == (35, 35, 30)


@pytest.mark.parametrize('n_max,num_classes,ib,expected', [
    (500, 100, 100, [500] * 50 + [5] * 50),
    (10, 5, 10, [10, 10, 1, 1, 1]),
    (10, 4, 1, [10] * 4),
    (7, 2, 2.5, [7, 2]),
])
def test_step_profile(n_max, num_classes, ib, expected):
    assert img_num_per_cls(n_max, num_classes, ib, 'step') == expected


@pytest.mark.parametrize('imb_type', ['exp', 'step'])
def test_reverse_flips_the_profile(imb_type):
    forward = img_num_per_cls(500, 100, 100, imb_type)
    assert img_num_per_cls(500, 100, 100, imb_type, reverse=True) == \
        forward[::-1]


def test_float_ratio_and_single_class():
    assert img_num_per_cls(100, 3, 4.0) == [100, 50, 25]
    assert img_num_per_cls(9, 1, 3) == [9]


@pytest.mark.parametrize(
    'ib',
    [0.5, 0, -3, float('nan'),
     float('inf'), '10', None, True])
def test_bad_imbalance_ratio(ib):
    with pytest.raises(ValueError,
                       match=r'imbalance_ratio.*>= 1.*' + re.escape(repr(ib))):
        img_num_per_cls(500, 100, ib)


def test_bad_imb_type_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"\('exp', 'step'\).*'foo'"):
        img_num_per_cls(500, 100, 10, 'foo')


@pytest.mark.parametrize('n_max,num_classes', [(-1, 10), (5, 0), (5.0, 10)])
def test_bad_sizes(n_max, num_classes):
    with pytest.raises(ValueError):
        img_num_per_cls(n_max, num_classes, 10)


# ------------------------------------------------------------------- split


def _ldam_reference(labels, counts, seed):
    """The literature's code: global seed, shuffle each class, keep n_i."""
    state = np.random.get_state()
    np.random.seed(seed)
    kept = []
    for c, n in enumerate(counts):
        idx = np.where(np.asarray(labels) == c)[0]
        np.random.shuffle(idx)
        kept.append(idx[:n])
    np.random.set_state(state)
    return np.concatenate(kept)


@pytest.mark.parametrize('seed', [0, 1, 2024])
def test_split_is_the_global_seed_split(seed):
    labels = np.random.RandomState(5).randint(0, 10, 3000)
    counts = img_num_per_cls(int(np.bincount(labels).min()), 10, 20)
    before = np.random.get_state()[1].copy()
    got = long_tail_indices(labels, counts, seed)
    np.testing.assert_array_equal(got, _ldam_reference(labels, counts, seed))
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert np.bincount(labels[got], minlength=10).tolist() == counts


def test_split_keeps_everything_in_order():
    labels = np.random.RandomState(0).permutation(np.repeat(np.arange(7), 9))
    np.testing.assert_array_equal(long_tail_indices(labels, [9] * 7, seed=3),
                                  np.arange(63))


def test_split_seeds():
    labels = np.repeat(np.arange(5), 50)
    counts = img_num_per_cls(50, 5, 10)
    a, b = long_tail_indices(labels, counts,
                             0), long_tail_indices(labels, counts, 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, long_tail_indices(labels, counts, 1))


@pytest.mark.parametrize('labels,counts,match', [
    ([0, 1, 2], [1, 1], r'\[0, 2\)'),
    ([0, 0, 1], [3, 1], r'counts\[0\] = 3'),
    ([0, 0, 1], [1, -1], r'counts\[1\] = -1'),
])
def test_split_bad_counts(labels, counts, match):
    with pytest.raises(ValueError, match=match):
        long_tail_indices(labels, counts)


def test_subset_n_max_from_data_and_empty_classes():
    labels = np.array([0] * 12 + [1] * 10 + [2] * 15)
    idx, counts = long_tail_subset(labels, 3, 4)
    assert counts == [10, 5, 2] and len(idx) == 17
    with pytest.warns(UserWarning, match=r'classes \[2\] with no image'):
        _, counts = long_tail_subset(labels, 3, 20)
    assert counts == [10, 2, 0]
    with pytest.raises(ValueError, match=r'classes \[3\] have no image'):
        long_tail_subset(labels, 4, 4)


@pytest.mark.parametrize('split,ib,train_ib,match', [
    ('val', 10, None, r"split must be one of \('train', 'test'\).*'val'"),
    ('test', 10, None, r"X\(split='test'\) needs train_imbalance_ratio"),
    ('train', 10, 100, r'must be None or equal to imbalance_ratio'),
    ('test', 1, 0.5, r'train_imbalance_ratio must be .*>= 1'),
])
def test_check_lt_args_errors(split, ib, train_ib, match):
    with pytest.raises(ValueError, match=match):
        check_lt_args('X', split, ib, 'exp', train_ib)


@pytest.mark.parametrize('split,ib,train_ib,expected', [
    ('train', 10, None, 10.0),
    ('train', 10, 10.0, 10.0),
    ('test', 1, 100, 100.0),
])
def test_check_lt_args_train_ratio(split, ib, train_ib, expected):
    assert check_lt_args('X', split, ib, 'exp', train_ib) == expected
