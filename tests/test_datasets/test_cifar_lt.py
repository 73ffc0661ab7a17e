"""CIFAR10-LT and CIFAR100-LT: the long-tailed splits, the checks of the
official files and of damaged ones (xerm_mm/datasets/cifar_lt.py)."""
import logging
import os
import os.path as osp
import pickle
import re
import warnings

import numpy as np
import pytest
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

from fake_cifar import write_fake_cifar10
from inprocess_tool import ROOT
from test_lt_profile import _ldam_reference
from xerm_mm.datasets import (CIFAR10LT, CIFAR100LT, DigitsLT, LongTailMixin,
                              img_num_per_cls)
from xerm_mm.datasets.cifar_checks import content_digest

# Expected here: IB > n_max on the tiny fake data.
pytestmark = [
    pytest.mark.filterwarnings('ignore:.*with no image:UserWarning')
]

# Fake data: few images per class, so n_max comes from the data.
C10_TRAIN, C10_TEST = 40, 12
C100_TRAIN, C100_TEST = 20, 4


def _write_fake_cifar(root, kind, train_per_class, test_per_class):
    """Official pickle layout; labels in a shuffled (interleaved) order and
    each image's index in the split written in its first two bytes."""
    ten = kind == 'cifar10'
    num_classes = 10 if ten else 100
    folder = osp.join(root,
                      'cifar-10-batches-py' if ten else 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(123)
    key = 'labels' if ten else 'fine_labels'

    def split(per_class):
        labels = rng.permutation(np.repeat(np.arange(num_classes), per_class))
        data = rng.randint(0, 256, (labels.size, 3072), dtype=np.uint8)
        data[:, 0] = np.arange(labels.size) % 256
        data[:, 1] = np.arange(labels.size) // 256
        return data, labels.tolist()

    def dump(name, obj):
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(obj, f)

    (train, train_labels), (test, test_labels) = split(train_per_class), \
        split(test_per_class)
    if ten:
        for i, idx in enumerate(np.array_split(np.arange(len(train)), 5)):
            dump(f'data_batch_{i + 1}',
                 dict(data=train[idx], labels=[train_labels[j] for j in idx]))
        dump('test_batch', dict(data=test, labels=test_labels))
        dump('batches.meta', dict(label_names=[f'c{i}' for i in range(10)]))
    else:
        dump('train', dict(data=train, fine_labels=train_labels))
        dump('test', dict(data=test, fine_labels=test_labels))
        dump('meta', dict(fine_label_names=[f'c{i}' for i in range(100)]))
    return dict(root=root,
                folder=folder,
                train_labels=train_labels,
                test_labels=test_labels,
                kw=dict(images_per_class=dict(train=train_per_class,
                                              test=test_per_class)))


@pytest.fixture(scope='module')
def c10(tmp_path_factory):
    return _write_fake_cifar(str(tmp_path_factory.mktemp('c10')), 'cifar10',
                             C10_TRAIN, C10_TEST)


@pytest.fixture(scope='module')
def c100(tmp_path_factory):
    return _write_fake_cifar(str(tmp_path_factory.mktemp('c100')), 'cifar100',
                             C100_TRAIN, C100_TEST)


def _source_index(ds):
    """Index in the original split of each image of ``ds`` (from its bytes)."""
    imgs = [ds.get_data_info(i)['img'] for i in range(len(ds))]
    return np.array([int(im[0, 0, 0]) + 256 * int(im[0, 1, 0]) for im in imgs])


# ------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize('ib', [100, 50, 10])
def test_cifar100lt_counts(c100, ib):
    ds = CIFAR100LT(c100['root'], **c100['kw'], imbalance_ratio=ib)
    counts = img_num_per_cls(C100_TRAIN, 100, ib)
    meta = ds.metainfo
    assert meta['class_counts'] == meta['train_class_counts'] == tuple(counts)
    assert len(ds) == sum(counts)
    assert np.bincount(ds.get_gt_labels(), minlength=100).tolist() == counts
    assert len(meta['classes']) == 100
    assert (meta['imbalance_ratio'], meta['imb_type'], meta['reverse']) == \
        (ib, 'exp', False)


@pytest.mark.parametrize('ib,imb_type,reverse', [
    (100, 'exp', False),
    (10, 'exp', True),
    (4, 'step', False),
    (4, 'step', True),
])
def test_cifar10lt_profile_follows_the_split(c10, ib, imb_type, reverse):
    ds = CIFAR10LT(c10['root'], **c10['kw'],
                   imbalance_ratio=ib,
                   imb_type=imb_type,
                   reverse=reverse)
    counts = img_num_per_cls(C10_TRAIN, 10, ib, imb_type, reverse)
    assert ds.metainfo['train_class_counts'] == tuple(counts)
    assert np.bincount(ds.get_gt_labels(), minlength=10).tolist() == counts
    # The kept images are the seeded literature split of the source data.
    np.testing.assert_array_equal(
        _source_index(ds), _ldam_reference(c10['train_labels'], counts, 0))
    # Class names as mmpretrain gives them (its METAINFO, not the meta file).
    assert ds.metainfo['classes'] == tuple(CIFAR10_CATEGORIES)


@pytest.mark.parametrize('split', ['train', 'test'])
def test_ratio_one_keeps_everything_in_order(c10, split):
    ds = CIFAR10LT(c10['root'], **c10['kw'],
                   split=split,
                   imbalance_ratio=1,
                   train_imbalance_ratio=1)
    labels = c10[f'{split}_labels']
    np.testing.assert_array_equal(_source_index(ds), np.arange(len(labels)))
    assert ds.get_gt_labels().tolist() == labels


@pytest.mark.parametrize('test_ib', [1, 10])
def test_test_split_carries_the_train_counts(c10, test_ib):
    train = CIFAR10LT(c10['root'], **c10['kw'], imbalance_ratio=10)
    test = CIFAR10LT(c10['root'], **c10['kw'],
                     split='test',
                     imbalance_ratio=test_ib,
                     train_imbalance_ratio=10,
                     reverse=True)
    assert test.metainfo['train_class_counts'] == \
        train.metainfo['train_class_counts']
    counts = img_num_per_cls(C10_TEST, 10, test_ib, reverse=True)
    assert test.metainfo['class_counts'] == tuple(counts)
    assert len(test) == sum(counts)
    assert test.metainfo['train_imbalance_ratio'] == 10


def test_seed_determinism(c10):

    def build(seed):
        return _source_index(
            CIFAR10LT(c10['root'], **c10['kw'], imbalance_ratio=10, seed=seed))

    np.testing.assert_array_equal(build(0), build(0))
    assert not np.array_equal(build(0), build(1))


def test_own_data_is_checked_for_structure_only(c100, monkeypatch):
    # images_per_class given: neither md5 nor content digest is compared.
    import xerm_mm.datasets.cifar_lt as cifar_lt
    logged = []
    monkeypatch.setattr(cifar_lt, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ds = CIFAR100LT(c100['root'], **c100['kw'], imbalance_ratio=10)
    assert len(ds) == sum(img_num_per_cls(C100_TRAIN, 100, 10))
    assert logged == []


# ------------------------------------------- the official splits' content


class _TinyOfficialC100(CIFAR100LT):
    """CIFAR100LT whose 'official' split is the fake data's (20 / 4 a class),
    with the fake files' content digests published and md5s unknown."""
    official_images_per_class = dict(train=C100_TRAIN, test=C100_TEST)
    train_list = [('train', '0' * 32)]
    test_list = [('test', '0' * 32)]


def _fake_official_c100(tmp_path, cls_name='Tiny'):
    """A fresh fake CIFAR-100 and a dataset class that publishes its
    digests."""
    fake = _write_fake_cifar(str(tmp_path), 'cifar100', C100_TRAIN,
                             C100_TEST)
    digests = {}
    for name in ('train', 'test'):
        entry = pickle.load(open(osp.join(fake['folder'], name), 'rb'))
        digests[name] = content_digest(entry['data'],
                                       np.asarray(entry['fine_labels']))
    cls = type(cls_name, (_TinyOfficialC100, ), dict(content_digests=digests))
    return fake, cls


def _rewrite(path, change):
    entry = pickle.load(open(path, 'rb'))
    entry.update(change(entry))
    pickle.dump(entry, open(path, 'wb'))


def test_content_digest_ignores_the_order_only():
    rng = np.random.RandomState(0)
    data = rng.randint(0, 256, (50, 3072), dtype=np.uint8)
    labels = rng.randint(0, 10, 50)
    digest = content_digest(data, labels)
    order = rng.permutation(50)
    assert content_digest(data[order], labels[order]) == digest
    changed = data.copy()
    changed[7, 100] ^= 1
    assert content_digest(changed, labels) != digest
    swapped = labels.copy()
    i, j = np.flatnonzero(labels != labels[0])[0], 0
    swapped[[i, j]] = swapped[[j, i]]
    assert content_digest(data, swapped) != digest


def test_official_copy_in_any_order_is_used(tmp_path, monkeypatch):
    import xerm_mm.datasets.cifar_lt as cifar_lt
    logged = []
    monkeypatch.setattr(cifar_lt, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    fake, cls = _fake_official_c100(tmp_path)
    # A re-pack ordered by class (as the shared CIFAR-100's test set).
    path = osp.join(fake['folder'], 'test')
    entry = pickle.load(open(path, 'rb'))
    order = np.argsort(entry['fine_labels'], kind='stable')
    _rewrite(path, lambda e: dict(data=e['data'][order],
                                  fine_labels=[e['fine_labels'][i]
                                               for i in order]))
    ds = cls(fake['root'], split='test', imbalance_ratio=1,
             train_imbalance_ratio=10)
    assert len(ds) == 100 * C100_TEST
    assert [level for _, level in logged] == [logging.INFO] * 2
    assert all('holds the official images and labels' in msg
               for msg, _ in logged)


def _random_bytes(e):
    data = e['data'].copy()
    rng = np.random.RandomState(1)
    # As 16 MB of the 155 MB training pickle: a tenth of the images.
    flat = data.reshape(-1)
    start, size = 5000, flat.size // 10
    flat[start:start + size] = rng.randint(0, 256, size, dtype=np.uint8)
    return dict(data=data)


def _shuffled_labels(e):
    return dict(fine_labels=np.random.RandomState(2).permutation(
        e['fine_labels']).tolist())


def _zeroed_images(e):
    data = e['data'].copy()
    data[100:102] = 0  # 2 of 2,000 (the constant-image limit)
    return dict(data=data)


@pytest.mark.parametrize('damage', [_random_bytes, _shuffled_labels,
                                    _zeroed_images])
def test_damaged_official_file_is_refused(tmp_path, damage):
    fake, cls = _fake_official_c100(tmp_path)
    path = osp.join(fake['folder'], 'train')
    _rewrite(path, damage)
    with pytest.raises(ValueError) as err:
        cls(fake['root'], imbalance_ratio=10)
    msg = str(err.value)
    assert f"CIFAR data file '{path}' does not hold the official " \
        "cifar-100-python 'train' images and labels" in msg
    assert cls.content_digests['train'] in msg
    assert 'Replace it with the file of the official archive' in msg
    assert 'images_per_class=dict(train=N, test=M)' in msg
    if damage is _zeroed_images:
        assert '2 images are constant (e.g. zeroed) (from image 100 to ' \
            '101)' in msg


def test_official_md5_is_enough(tmp_path):
    import hashlib
    fake, cls = _fake_official_c100(tmp_path)
    path = osp.join(fake['folder'], 'train')
    _rewrite(path, _shuffled_labels)
    md5 = hashlib.md5(open(path, 'rb').read()).hexdigest()
    cls.train_list = [('train', md5)]
    # The file of the official archive (its md5), whatever its digest.
    assert len(cls(fake['root'], imbalance_ratio=10)) == sum(
        img_num_per_cls(C100_TRAIN, 100, 10))


def test_partial_copy_of_cifar_pack_is_used_for_its_split(tmp_path):
    # tools/gpu/cifar_pack.py: real training images only in the packed
    # long-tailed split, a placeholder elsewhere (so another digest).
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'cifar_pack', osp.join(ROOT, 'tools', 'gpu', 'cifar_pack.py'))
    cifar_pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cifar_pack)
    fake, cls = _fake_official_c100(tmp_path / 'src')
    for name in ('train', 'test'):
        _rewrite(osp.join(fake['folder'], name), lambda e: dict(
            coarse_labels=[c // 5 for c in e['fine_labels']]))
    pack = str(tmp_path / 'pack.npz')
    cifar_pack.pack(fake['root'], pack, imbalance_ratio=10)
    root = str(tmp_path / 'restored')
    cifar_pack.unpack(pack, root)
    path = osp.join(root, 'cifar-100-python', 'train')
    with pytest.raises(ValueError, match=re.escape(path) + '.*real images '
                       'only in the long-tailed split imbalance_ratio=10 '
                       'seed=0.*reads imbalance_ratio=100 seed=0'):
        cls(root, imbalance_ratio=100)
    cls(root, imbalance_ratio=10)
    cls(root, split='test', imbalance_ratio=1, train_imbalance_ratio=100)
    # Damage elsewhere is still found: the restored test split is whole.
    _rewrite(osp.join(root, 'cifar-100-python', 'test'), _shuffled_labels)
    with pytest.raises(ValueError, match="'test' images and labels"):
        cls(root, split='test', imbalance_ratio=1, train_imbalance_ratio=10)


def test_repack_without_digest_is_checked_for_noise(tmp_path, monkeypatch):
    import xerm_mm.datasets.cifar_lt as cifar_lt
    logged = []
    monkeypatch.setattr(cifar_lt, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))

    class TinyC10(CIFAR10LT):  # no published digest, as CIFAR-10
        official_images_per_class = dict(train=20, test=8)

    root = write_fake_cifar10(str(tmp_path))
    folder = osp.join(root, 'cifar-10-batches-py')
    ramp = np.tile(np.arange(32, dtype=np.uint8) * 4, 96)  # smooth rows
    for i in range(1, 6):
        _rewrite(osp.join(folder, f'data_batch_{i}'),
                 lambda e: dict(data=np.tile(ramp, (len(e['data']), 1))))
    TinyC10(root, imbalance_ratio=10)
    assert logged and all(level == logging.WARNING for _, level in logged)
    assert 'no content digest is published' in logged[0][0]
    path = osp.join(folder, 'data_batch_3')
    _rewrite(path, lambda e: dict(data=np.random.RandomState(0).randint(
        0, 256, e['data'].shape, dtype=np.uint8)))
    with pytest.raises(ValueError, match=re.escape(f"'{path}': 40 of its 40 "
                                                   'images are random noise')):
        TinyC10(root, imbalance_ratio=10)


# The real CIFAR-100 beside the repository, where present (the tests skip
# elsewhere).
SHARED_CIFAR100 = osp.join(ROOT, '..', 'shared', 'data', 'cifar100')


@pytest.mark.skipif(
    not osp.isdir(osp.join(SHARED_CIFAR100, 'cifar-100-python')),
    reason='no real CIFAR-100 here')
def test_real_cifar100_has_the_published_digests():
    folder = osp.join(SHARED_CIFAR100, 'cifar-100-python')
    for name, digest in CIFAR100LT.content_digests.items():
        entry = pickle.load(open(osp.join(folder, name), 'rb'),
                            encoding='latin1')
        assert content_digest(entry['data'],
                              np.asarray(entry['fine_labels'])) == digest


@pytest.mark.slow
@pytest.mark.skipif(
    not osp.isdir(osp.join(SHARED_CIFAR100, 'cifar-100-python')),
    reason='no real CIFAR-100 here')
def test_real_cifar100_with_16mb_of_random_bytes_is_refused(tmp_path):
    src = osp.join(SHARED_CIFAR100, 'cifar-100-python')
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    for name in ('test', 'meta'):
        os.symlink(osp.join(src, name), folder / name)
    raw = bytearray(open(osp.join(src, 'train'), 'rb').read())
    start, size = 50_000_000, 16 * 2**20
    raw[start:start + size] = np.random.RandomState(0).randint(
        0, 256, size, dtype=np.uint8).tobytes()
    (folder / 'train').write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r'does not hold the official.*'
                       r'\d+ images are random noise'):
        CIFAR100LT(str(tmp_path), imbalance_ratio=100)


# ------------------------------------------------------ damaged data files


def _damaged_copy(tmp_path, damage):
    """A fake CIFAR-10 (tests/fake_cifar.py) with data_batch_2 damaged by
    ``damage(raw_bytes, data_offset, data_size) -> bytes``."""
    root = write_fake_cifar10(str(tmp_path))
    path = osp.join(root, 'cifar-10-batches-py', 'data_batch_2')
    raw = open(path, 'rb').read()
    data = pickle.loads(raw)['data']
    offset = raw.find(data.tobytes())
    assert offset > 0
    with open(path, 'wb') as f:
        f.write(damage(raw, offset, data.nbytes))
    return root, path


def _build_fake_c10(root, **kwargs):
    return CIFAR10LT(root, imbalance_ratio=10,
                     images_per_class=dict(train=20, test=8), **kwargs)


@pytest.mark.parametrize('value', [0xFF, 0x00])
def test_overwritten_bytes_in_the_images_are_found(tmp_path, value):
    # As 20 MB of the 150 MB CIFAR-100 pickle overwritten with one value:
    # 2/15 of the file's image bytes, from inside an image on; same size.
    def overwrite(raw, offset, size):
        start, length = offset + 1000, size * 2 // 15
        return raw[:start] + bytes([value]) * length + raw[start + length:]

    root, path = _damaged_copy(tmp_path, overwrite)
    assert os.path.getsize(path) == len(pickle.dumps(pickle.load(
        open(path, 'rb'))))  # the pickle itself still loads, same size
    with pytest.raises(ValueError, match=re.escape(f"'{path}': ") +
                       r'\d+ of its 40 images are constant \(every pixel \['
                       + str(value) + r'\]\).*overwritten'):
        _build_fake_c10(root)


def test_truncated_pickle_names_the_file(tmp_path):
    root, path = _damaged_copy(tmp_path, lambda raw, off, n: raw[:len(raw) //
                                                                  2])
    with pytest.raises(ValueError, match=re.escape(f"'{path}' does not "
                                                   'load (') +
                       '.*truncated or damaged'):
        _build_fake_c10(root)


def _rewrite_batch(root, name, **changes):
    path = osp.join(root, 'cifar-10-batches-py', name)
    entry = pickle.load(open(path, 'rb'))
    entry.update(changes)
    pickle.dump(entry, open(path, 'wb'))
    return path


@pytest.mark.parametrize('change,match', [
    (lambda e: dict(data=e['data'].reshape(-1, 32, 32, 3)),
     r"'data' must be a uint8 \(N, 3072\).*uint8 \(40, 32, 32, 3\)"),
    (lambda e: dict(data=e['data'].astype(np.float32)),
     r"'data' must be a uint8 .*float32 \(40, 3072\)"),
    (lambda e: dict(labels=e['labels'][:-1]),
     r"'labels' must hold one integer label per image \(40\)"),
    (lambda e: dict(labels=[10] + e['labels'][1:]),
     r"'labels' must lie in \[0, 10\), but range over \[0, 10\]"),
])
def test_bad_arrays_name_the_file_and_the_fault(tmp_path, change, match):
    root = write_fake_cifar10(str(tmp_path))
    entry = pickle.load(
        open(osp.join(root, 'cifar-10-batches-py', 'data_batch_3'), 'rb'))
    path = _rewrite_batch(root, 'data_batch_3', **change(entry))
    with pytest.raises(ValueError, match=re.escape(path) + '.*' + match):
        _build_fake_c10(root)


def test_class_counts_follow_the_official_split(tmp_path):
    root = write_fake_cifar10(str(tmp_path))
    # The official counts by default; the fake data has 20 / 8 a class.
    with pytest.raises(ValueError, match=r'train split\): every class must '
                       r'have 5000 images, but 10 classes differ'):
        CIFAR10LT(root, imbalance_ratio=10)
    with pytest.raises(ValueError, match=r'test split\): every class must '
                       r'have 1000 images.*images_per_class'):
        CIFAR10LT(root, split='test', imbalance_ratio=1,
                  train_imbalance_ratio=10,
                  images_per_class=dict(train=20, test=1000))
    # A label changed: one class one image more, another one less.
    labels = pickle.load(open(osp.join(root, 'cifar-10-batches-py',
                                       'data_batch_1'), 'rb'))['labels']
    _rewrite_batch(root, 'data_batch_1',
                   labels=[(labels[0] + 1) % 10] + labels[1:])
    with pytest.raises(ValueError,
                       match=r"\['.*data_batch_1', .*'.*data_batch_5'\] "
                       r'\(train split\).*2 classes differ \(class: images '
                       r'\{0: 19, 1: 21\}\)'):
        _build_fake_c10(root)


@pytest.mark.parametrize('value', [dict(train=20), dict(train=0, test=8),
                                   [20, 8], dict(train=20, test=True)])
def test_bad_images_per_class(c10, value):
    with pytest.raises(ValueError, match='images_per_class must be a dict'):
        CIFAR10LT(c10['root'], images_per_class=value)


@pytest.mark.parametrize('cls,base,default',
                         [(CIFAR10LT, 'cifar-10-batches-py', 'data/cifar10'),
                          (CIFAR100LT, 'cifar-100-python', 'data/cifar100')])
def test_missing_data_says_where_and_how(tmp_path, cls, base, default):
    with pytest.raises(FileNotFoundError) as err:
        cls(str(tmp_path), imbalance_ratio=10)
    msg = str(err.value)
    assert osp.join(str(tmp_path), base) in msg
    assert 'download=True' in msg and 'data_root' in msg
    # The tools' flag and the place the configs look by default.
    assert '--data-root PATH' in msg
    assert f'({base}/) in {default}/ (where the configs look' in msg


def test_download_uses_mmpretrain_with_the_archive_md5(tmp_path, monkeypatch):
    import mmpretrain.datasets.cifar as mm_cifar
    calls = []

    def fake_download(url, root, filename=None, md5=None):
        calls.append((url, filename, md5))
        _write_fake_cifar(root, 'cifar10', 10, 2)

    monkeypatch.setattr(mm_cifar, 'download_and_extract_archive',
                        fake_download)
    ds = CIFAR10LT(str(tmp_path), imbalance_ratio=1, download=True)
    assert calls == [(CIFAR10LT.url, CIFAR10LT.filename, CIFAR10LT.tgz_md5)]
    assert len(ds) == 100


def test_no_data_root():
    with pytest.raises(ValueError, match='needs data_root'):
        CIFAR100LT()


@pytest.mark.parametrize('kwargs,match', [
    (dict(imbalance_ratio=0.5), 'imbalance_ratio must be'),
    (dict(imb_type='foo'), 'imb_type must be one of'),
    (dict(split='val'), r"CIFAR100LT: split must be one of \('train', "),
    (dict(split='test', imbalance_ratio=1), "CIFAR100LT\\(split='test'\\) "
     'needs train_imbalance_ratio: the imbalance ratio of the training'),
    (dict(imbalance_ratio=10, train_imbalance_ratio=100), 'equal to'),
])
def test_bad_arguments(c100, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CIFAR100LT(c100['root'], **c100['kw'], **kwargs)


def test_lazy_init_gets_the_counts_on_full_init(c10):
    ds = CIFAR10LT(c10['root'], **c10['kw'], imbalance_ratio=10,
                   lazy_init=True)
    assert ds.metainfo['imbalance_ratio'] == 10
    assert 'train_class_counts' not in ds.metainfo
    ds.full_init()
    assert ds.metainfo['train_class_counts'] == tuple(
        img_num_per_cls(C10_TRAIN, 10, 10))


def _registry():
    try:
        from xerm_mm.utils import register_all_modules
        register_all_modules()
    except ImportError as err:  # another subpackage half-written
        warnings.warn(f'register_all_modules failed ({err}); using '
                      'xerm_mm.datasets directly')
    from xerm_mm.registry import DATASETS
    return DATASETS


def test_build_through_the_registry_with_the_cifar_pipeline(c100):
    from mmengine.registry import DefaultScope
    pipeline = [
        dict(type='RandomCrop', crop_size=32, padding=4),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    registry = _registry()
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        ds = registry.build(
            dict(type='CIFAR100LT',
                 data_root=c100['root'],
                 **c100['kw'],
                 imbalance_ratio=10,
                 pipeline=pipeline))
        digits = registry.build(dict(type='DigitsLT', pipeline=pipeline))
    assert isinstance(ds, CIFAR100LT) and isinstance(digits, DigitsLT)
    for dataset in (ds, digits):
        item = dataset[len(dataset) - 1]
        assert tuple(item['inputs'].shape) == (3, 32, 32)
        assert item['data_samples'].gt_label.item() == \
            dataset.get_cat_ids(len(dataset) - 1)[0]


def test_one_long_tail_mixin(c10):
    # The split, the metainfo and the repr line are the mixin's, once.
    for cls in (CIFAR10LT, CIFAR100LT, DigitsLT):
        assert issubclass(cls, LongTailMixin)
        assert not {'_long_tail_keep', '_long_tail_metainfo'} & set(vars(cls))
    for ds in (CIFAR10LT(c10['root'], **c10['kw'], imbalance_ratio=10),
               DigitsLT()):
        assert 'Long tail: \timbalance_ratio=10, imb_type=exp' in repr(ds)
        assert {'imbalance_ratio', 'train_imbalance_ratio', 'imb_type',
                'reverse', 'train_class_counts', 'class_counts'} <= set(
                    ds.metainfo)
