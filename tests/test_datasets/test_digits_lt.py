"""DigitsLT: the offline long-tailed digits (xerm_mm/datasets/digits_lt.py)."""
import numpy as np
import pytest

from xerm_mm.datasets import DigitsLT, img_num_per_cls
from xerm_mm.datasets.digits_lt import _digits_table, _fixed_split


@pytest.mark.parametrize('ib,imb_type,reverse', [(10, 'exp', False),
                                                 (100, 'exp', True),
                                                 (5, 'step', False),
                                                 (1, 'exp', False)])
def test_digits_train_counts(ib, imb_type, reverse):
    ds = DigitsLT(imbalance_ratio=ib, imb_type=imb_type, reverse=reverse)
    counts = img_num_per_cls(124, 10, ib, imb_type, reverse)  # 174 - 50
    assert ds.metainfo['train_class_counts'] == tuple(counts)
    assert np.bincount(ds.get_gt_labels(), minlength=10).tolist() == counts
    assert ds.metainfo['classes'] == tuple('0123456789')


def test_digits_images_and_test_split():
    train = DigitsLT(imbalance_ratio=10)
    test = DigitsLT(split='test', imbalance_ratio=1, train_imbalance_ratio=10)
    assert len(test) == 500
    assert test.metainfo['class_counts'] == (50, ) * 10
    assert test.metainfo['train_class_counts'] == \
        train.metainfo['train_class_counts']
    img = test.get_data_info(0)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert (img[..., 0] == img[..., 2]).all() and img.max() > 200
    from sklearn.datasets import load_digits
    labels = load_digits().target
    tr, te = (_fixed_split(labels, 50, s) for s in ('train', 'test'))
    assert not set(tr) & set(te) and len(tr) + len(te) == len(labels)


def test_digits_seed_and_fixed_split():

    def source(**kw):
        ds = DigitsLT(imbalance_ratio=10, **kw)
        return np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])

    assert np.array_equal(source(seed=0), source(seed=0))
    assert not np.array_equal(source(seed=0), source(seed=1))

    # The train/test split does not depend on the long-tail seed.
    def test_images(seed):
        ds = DigitsLT('test', 1, seed=seed, train_imbalance_ratio=10)
        return np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])

    np.testing.assert_array_equal(test_images(0), test_images(5))


@pytest.mark.parametrize('kwargs,match', [
    (dict(test_per_class=0), 'test_per_class'),
    (dict(test_per_class=174), 'test_per_class'),
    (dict(split='val'), 'split must be one of'),
    (dict(split='test'), 'needs train_imbalance_ratio'),
    (dict(imb_type='foo'), 'imb_type'),
    (dict(imbalance_ratio=0.9), 'imbalance_ratio'),
])
def test_digits_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitsLT(**kwargs)


def test_digits_table_is_scikit_learns():
    """The file read without scikit-learn holds load_digits()'s data."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    table = _digits_table()
    np.testing.assert_array_equal(table[:, :64], digits.data)
    np.testing.assert_array_equal(table[:, -1], digits.target)
