"""List-file datasets: LongTailListDataset, ImageNetLT, Places365LT, iNat.

Every test makes its own small lists and JPEG tree in ``tmp_path``. The
published lists' counts are printed by ``tools/dataset_converters/
lt_list_stats.py`` (docs/datasets.md), not checked here.
"""
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
from inprocess_tool import run_main

from xerm_mm.datasets import (INaturalist2018, ImageNetLT, LongTailListDataset,
                              Places365LT, imbalanced_test_indices,
                              read_list_file)
from xerm_mm.registry import DATASETS



def _write(path: Path, entries) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{p} {c}\n' for p, c in entries))
    return path


def _tree(root: Path, prefix: str, counts):
    """JPEGs ``prefix/c{c}/{i}.jpg`` (8x8, colour c*40) and their entries."""
    entries = []
    for c, n in enumerate(counts):
        for i in range(n):
            rel = f'{prefix}/c{c}/{i}.jpg'
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / rel), np.full((8, 8, 3), c * 40, np.uint8))
            entries.append((rel, c))
    return entries


@pytest.fixture
def places_root(tmp_path):
    """A miniature Places-LT layout: 3 classes, train 6/3/1, val/test 4."""
    _write(tmp_path / 'Places_LT_train.txt',
           _tree(tmp_path, 'data_256', [1, 6, 3]))
    test = _tree(tmp_path, 'val_256', [4, 4, 4])
    # interleave the classes: "list order" is not class order
    test = [
        test[i] for i in np.argsort([i % 4 for i in range(12)], kind='stable')
    ]
    _write(tmp_path / 'Places_LT_test.txt', test)
    _write(tmp_path / 'Places_LT_val.txt', test[:6])
    return tmp_path


def test_read_list_file_last_whitespace_and_blank_lines(tmp_path):
    f = tmp_path / 'l.txt'
    f.write_text('a/b c.jpg 3\n\n  \nx/y.jpg\t0\nz.jpg 12')
    paths, labels = read_list_file(str(f))
    assert paths == ['a/b c.jpg', 'x/y.jpg', 'z.jpg']
    assert labels.tolist() == [3, 0, 12] and labels.dtype == np.int64


@pytest.mark.parametrize('bad',
                         ['onlypath.jpg', 'a.jpg x', 'a.jpg -1', 'a.jpg 1.5'])
def test_read_list_file_bad_line_names_file_line(tmp_path, bad):
    f = tmp_path / 'l.txt'
    f.write_text(f'ok.jpg 0\n\n{bad}\n')
    with pytest.raises(ValueError) as err:
        read_list_file(str(f))
    msg = str(err.value)
    assert str(f) in msg and 'line 3' in msg and repr(bad) in msg


def test_generic_dataset_counts_classes_and_metainfo(tmp_path):
    _write(tmp_path / 'tr.txt', [('a.jpg', 2), ('b.jpg', 2), ('c.jpg', 0)])
    _write(tmp_path / 'te.txt', [('d.jpg', 1), ('e.jpg', 0)])
    train = DATASETS.build(
        dict(type='LongTailListDataset',
             ann_file='tr.txt',
             data_root=str(tmp_path)))
    assert train.metainfo['classes'] == ('0', '1', '2')
    assert train.metainfo['train_class_counts'] == (1, 0, 2)
    assert train.metainfo['class_counts'] == (1, 0, 2)
    assert train.get_data_info(0)['img_path'] == osp.join(
        str(tmp_path), 'a.jpg')
    test = LongTailListDataset(ann_file='te.txt',
                               train_ann_file='tr.txt',
                               data_root=str(tmp_path),
                               num_classes=4)
    assert len(test) == 2 and test.get_gt_labels().tolist() == [1, 0]
    assert test.metainfo['classes'] == ('0', '1', '2', '3')
    assert test.metainfo['train_class_counts'] == (1, 0, 2, 0)
    assert test.metainfo['class_counts'] == (1, 1, 0, 0)
    named = LongTailListDataset(ann_file='te.txt',
                                train_ann_file='tr.txt',
                                data_root=str(tmp_path),
                                classes=['x', 'y', 'z'])
    assert named.metainfo['classes'] == ('x', 'y', 'z')


def test_label_out_of_range_names_the_file(tmp_path):
    _write(tmp_path / 'tr.txt', [('a.jpg', 0), ('b.jpg', 5)])
    with pytest.raises(ValueError, match=r'tr\.txt.*label 5.*3 classes'):
        LongTailListDataset(ann_file='tr.txt',
                            data_root=str(tmp_path),
                            num_classes=3)
    with pytest.raises(ValueError, match='2 class names'):
        LongTailListDataset(ann_file='tr.txt',
                            data_root=str(tmp_path),
                            num_classes=3,
                            classes=['a', 'b'])


@pytest.mark.parametrize('empty', ['te.txt', 'tr.txt'])
def test_an_empty_list_names_the_file(tmp_path, empty):
    # Before: "need at least one array to concatenate" (or labels "out of
    # range for 0 classes"), no file named.
    _write(tmp_path / 'tr.txt', [('a.jpg', 0), ('b.jpg', 1)])
    _write(tmp_path / 'te.txt', [('c.jpg', 1)])
    (tmp_path / empty).write_text('\n\n')
    with pytest.raises(ValueError) as err:
        LongTailListDataset(ann_file='te.txt',
                            train_ann_file='tr.txt',
                            data_root=str(tmp_path))
    assert f'{tmp_path / empty} has no entry' in str(err.value)


def test_missing_train_list_is_a_clear_error(tmp_path):
    _write(tmp_path / 'Places_LT_test.txt', [('a.jpg', 0)])
    with pytest.raises(FileNotFoundError) as err:
        Places365LT(data_root=str(tmp_path), split='test')
    msg = str(err.value)
    assert str(tmp_path / 'Places_LT_train.txt') in msg
    assert 'train_ann_file' in msg
    with pytest.raises(FileNotFoundError, match='Places_LT_val.txt'):
        Places365LT(data_root=str(tmp_path), split='val')


def test_benchmarks_defaults_splits_and_errors(places_root):
    train = Places365LT(data_root=str(places_root))
    assert len(train) == 10 and len(train.metainfo['classes']) == 365
    assert train.metainfo['train_class_counts'][:4] == (1, 6, 3, 0)
    test = DATASETS.build(
        dict(type='xerm_mm.Places365LT',
             data_root=str(places_root),
             split='test'))
    assert test.metainfo['train_class_counts'] == \
        train.metainfo['train_class_counts']
    assert test.metainfo['class_counts'][:4] == (4, 4, 4, 0)
    assert test.ann_file == str(places_root / 'Places_LT_test.txt')
    with pytest.raises(ValueError, match='split must be one of'):
        Places365LT(data_root=str(places_root), split='valid')
    with pytest.raises(ValueError, match='split must be one of'):
        INaturalist2018(data_root=str(places_root), split='test')
    with pytest.raises(ValueError, match='imbalanced test set'):
        Places365LT(data_root=str(places_root), imbalance_ratio=10)
    with pytest.raises(ValueError, match='imbalanced test set'):
        INaturalist2018(data_root=str(places_root), split='val', reverse=True)
    lazy = ImageNetLT(data_root=str(places_root), lazy_init=True)
    assert len(lazy.metainfo['classes']) == 1000  # known before the lists
    assert ImageNetLT.NUM_CLASSES == 1000 and \
        INaturalist2018.NUM_CLASSES == 8142


def test_imbalanced_test_set_counts_and_images(places_root):
    """Train counts (1, 6, 3): ranks 1 -> 0, 2 -> 1, 0 -> 2.

    IB 4, n_test 4: per rank int(4 * 4^(-r/2)) = 4, 2, 1.
    """
    kw = dict(data_root=str(places_root), split='test', num_classes=3)
    fwd = Places365LT(imbalance_ratio=4, **kw)
    assert fwd.metainfo['class_counts'] == (1, 4, 2)
    bwd = Places365LT(imbalance_ratio=4, reverse=True, **kw)
    assert bwd.metainfo['class_counts'] == (4, 1, 2)
    assert fwd.metainfo['imbalance_ratio'] == 4 and bwd.metainfo['reverse']
    # the first n_c of each class in list order, kept in list order
    paths = [fwd.get_data_info(i)['img_path'] for i in range(len(fwd))]
    rel = [osp.relpath(p, str(places_root)) for p in paths]
    assert rel == [
        'val_256/c0/0.jpg', 'val_256/c1/0.jpg', 'val_256/c2/0.jpg',
        'val_256/c1/1.jpg', 'val_256/c2/1.jpg', 'val_256/c1/2.jpg',
        'val_256/c1/3.jpg'
    ]
    whole = Places365LT(imbalance_ratio=1, **kw)
    assert len(whole) == 12
    with pytest.raises(ValueError, match='imbalance_ratio'):
        Places365LT(imbalance_ratio=0.5, **kw)


def test_imbalanced_test_indices_ties_by_class_id():
    labels = [2, 1, 0, 0, 1, 2, 0, 1, 2]
    # classes 1 and 2 tie (5 training images): class 1 gets rank 0
    keep, counts = imbalanced_test_indices(labels, [1, 5, 5], 9)
    assert counts == [0, 3, 1]
    assert keep.tolist() == [0, 1, 4, 7]
    keep, counts = imbalanced_test_indices(labels, [1, 5, 5], 9, reverse=True)
    assert counts == [3, 0, 1] and keep.tolist() == [0, 2, 3, 6]
    keep, counts = imbalanced_test_indices(labels[:8], [1, 5, 5], 1)
    assert keep.tolist() == list(range(8)) and counts == [3, 3, 2]


def test_image_loads_through_pipeline(places_root):
    ds = Places365LT(
        data_root=str(places_root),
        split='test',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    out = ds[1]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    assert out['data_samples'].gt_label.item() == 1
    assert int(out['inputs'][0, 0, 0]) == 40


def test_list_stats_tool_table(places_root):
    lines, out = run_main('dataset_converters/lt_list_stats', str(places_root),
                          '--ratios', '4')
    assert lines[2:] == [
        '| Places_LT_test.txt | 12 | 3 | 4 .. 4 |  | IB 4: 7 |',
        '| Places_LT_train.txt | 10 | 3 | 6 .. 1 | 0 / 0 / 3 |  |',
        '| Places_LT_val.txt | 6 | 3 | 2 .. 2 |  |  |',
    ]
    assert lines[2] in out
    with pytest.raises(SystemExit):
        run_main('dataset_converters/lt_list_stats', str(places_root / 'no'))


def _folders(root: Path, counts, names=('cat', 'dog', 'emu')):
    """A class-folder tree ``root/{name}/{i}.jpg`` (colour = label * 40)."""
    for c, (name, n) in enumerate(zip(names, counts)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / name / f'{i}.jpg'),
                        np.full((8, 8, 3), c * 40, np.uint8))
    return root


@pytest.fixture
def folder_root(tmp_path):
    """train/ (cat 1, dog 5, emu 2, a .txt ignored) and test/ (3 each)."""
    _folders(tmp_path / 'train', [1, 5, 2])
    (tmp_path / 'train' / 'dog' / 'notes.txt').write_text('not an image')
    _folders(tmp_path / 'test', [3, 3, 3])
    return tmp_path


def test_folder_tree_classes_counts_and_paths(folder_root):
    train = DATASETS.build(
        dict(type='xerm_mm.LongTailListDataset',
             data_root=str(folder_root),
             data_prefix='train'))
    assert train.metainfo['classes'] == ('cat', 'dog', 'emu')
    assert train.metainfo['train_class_counts'] == (1, 5, 2)
    assert train.metainfo['class_counts'] == (1, 5, 2)
    assert train.get_gt_labels().tolist() == [0, 1, 1, 1, 1, 1, 2, 2]
    assert train.get_data_info(1)['img_path'] == osp.join(
        str(folder_root), 'train', 'dog', '0.jpg')
    test = LongTailListDataset(data_root=str(folder_root),
                               data_prefix='test',
                               train_data_prefix='train',
                               test_mode=True)
    assert test.metainfo['classes'] == ('cat', 'dog', 'emu')
    assert test.metainfo['train_class_counts'] == (1, 5, 2)
    assert test.metainfo['class_counts'] == (3, 3, 3)
    # data_root itself as the tree, absolute train_data_prefix
    own = LongTailListDataset(data_root=str(folder_root / 'train'),
                              ann_file=None)
    assert own.metainfo['class_counts'] == (1, 5, 2)
    named = LongTailListDataset(data_prefix=str(folder_root / 'test'),
                                train_data_prefix=str(folder_root / 'train'),
                                classes=['c', 'd', 'e'],
                                num_classes=3)
    assert named.metainfo['classes'] == ('c', 'd', 'e')
    assert named.metainfo['train_class_counts'] == (1, 5, 2)


def test_folder_tree_missing_class_counts_zero_extra_is_error(tmp_path):
    _folders(tmp_path / 'train', [2, 4, 1])
    _folders(tmp_path / 'test', [2, 2], names=('cat', 'emu'))
    test = LongTailListDataset(data_root=str(tmp_path),
                               data_prefix='test',
                               train_data_prefix='train')
    assert test.metainfo['classes'] == ('cat', 'dog', 'emu')
    assert test.metainfo['class_counts'] == (2, 0, 2)
    assert test.get_gt_labels().tolist() == [0, 0, 2, 2]
    _folders(tmp_path / 'test', [1], names=('yak', ))
    with pytest.raises(ValueError) as err:
        LongTailListDataset(data_root=str(tmp_path),
                            data_prefix='test',
                            train_data_prefix='train')
    msg = str(err.value)
    assert 'yak' in msg and str(tmp_path / 'train') in msg
    assert 'cat, dog, emu' in msg


def test_folder_tree_errors(folder_root, tmp_path):
    root = str(folder_root)
    with pytest.raises(FileNotFoundError, match='training tree.*nowhere'):
        LongTailListDataset(data_root=root,
                            data_prefix='test',
                            train_data_prefix='nowhere')
    with pytest.raises(ValueError, match='2 class names.*3 class folders'):
        LongTailListDataset(data_root=root,
                            data_prefix='train',
                            classes=['a', 'b'])
    with pytest.raises(ValueError, match='num_classes=4'):
        LongTailListDataset(data_root=root, data_prefix='train', num_classes=4)
    with pytest.raises(ValueError, match='train_data_prefix'):
        LongTailListDataset(data_root=root, train_ann_file='tr.txt')
    with pytest.raises(ValueError, match='train_ann_file'):
        LongTailListDataset(data_root=root,
                            ann_file='te.txt',
                            train_data_prefix='train')
    with pytest.raises(ValueError, match='ann_file.*data_root'):
        LongTailListDataset()
    with pytest.raises(ValueError, match='imbalanced'):
        LongTailListDataset(data_root=root,
                            data_prefix='train',
                            imbalance_ratio=2)
    (tmp_path / 'empty' / 'cat').mkdir(parents=True)
    with pytest.raises(ValueError, match='no image.*empty'):
        LongTailListDataset(data_root=str(tmp_path / 'empty'))
    (tmp_path / 'flat').mkdir()
    (tmp_path / 'flat' / 'a.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='no class subfolders'):
        LongTailListDataset(data_root=str(tmp_path / 'flat'))


def test_folder_tree_imbalanced_test_and_pipeline(folder_root):
    """Train counts (1, 5, 2): ranks dog 0, emu 1, cat 2.

    IB 3, n_test 3: per rank int(3 * 3^(-r/2)) = 3, 1, 1.
    """
    kw = dict(data_root=str(folder_root),
              data_prefix='test',
              train_data_prefix='train')
    fwd = LongTailListDataset(imbalance_ratio=3, **kw)
    assert fwd.metainfo['class_counts'] == (1, 3, 1)
    bwd = LongTailListDataset(imbalance_ratio=3, reverse=True, **kw)
    assert bwd.metainfo['class_counts'] == (3, 1, 1)
    ds = LongTailListDataset(
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')],
        **kw)
    out = ds[3]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    assert out['data_samples'].gt_label.item() == 1
    assert int(out['inputs'][0, 0, 0]) == 40
