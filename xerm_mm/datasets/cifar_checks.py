"""Content checks of the CIFAR pickles, each error naming the file.

What is checked: docs/datasets.md, "CIFAR10LT, CIFAR100LT".
"""
import hashlib
import pickle
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.fileio import get

IMAGE_BYTES = 32 * 32 * 3
# Mean absolute difference of horizontal neighbours above which an image is
# taken for random bytes: uniform noise gives 85; the most textured image of
# CIFAR-100 (train and test) 62.
NOISE_LIMIT = 72.0
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, element-wise on uint64 (wraps mod 2**64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def content_digest(data: np.ndarray, labels: np.ndarray) -> str:
    """Order-independent md5 of a split's (image, label) pairs.

    Each image (a row of ``data``: 3072 bytes, as the pickles hold them) and
    its label give a 64-bit key; the digest is the md5 of the sorted keys
    (little-endian uint64). Re-ordering the images does not change it; a
    changed pixel or label does. About 0.05 s for the 50,000 training
    images of CIFAR-100.

    Args:
        data (np.ndarray): uint8 ``(N, 3072)``.
        labels (np.ndarray): ``(N, )`` integer labels.
    """
    words = np.ascontiguousarray(data, dtype=np.uint8).view('<u8')
    with np.errstate(over='ignore'):
        weights = _mix64(
            np.arange(1, words.shape[1] + 1, dtype=np.uint64) * _GOLDEN)
        keys = words.astype(np.uint64, copy=False) @ (weights | np.uint64(1))
        keys = _mix64(keys + (np.asarray(labels).astype(np.uint64) +
                              np.uint64(1)) * _GOLDEN)
    return hashlib.md5(np.sort(keys).astype('<u8').tobytes()).hexdigest()


def constant_images(data: np.ndarray) -> np.ndarray:
    """Indices of the images whose bytes all have one value."""
    return np.flatnonzero(data.min(axis=1) == data.max(axis=1))


def noise_images(data: np.ndarray) -> np.ndarray:
    """Indices of the images that look like random bytes.

    The mean absolute difference of horizontal neighbours (on every 4th
    pixel row) is above :data:`NOISE_LIMIT`; natural images are smoother.
    """
    rows = data.reshape(-1, 3, 32, 32)[:, :, ::4, :].astype(np.int16)
    diff = np.abs(np.diff(rows, axis=3)).mean(axis=(1, 2, 3))
    return np.flatnonzero(diff > NOISE_LIMIT)


def describe_damage(data: np.ndarray) -> str:
    """What looks damaged in ``data`` (constant / noise images), or ''."""
    found = []
    for kind, idx in (('constant (e.g. zeroed)', constant_images(data)),
                      ('random noise', noise_images(data))):
        if len(idx):
            found.append(f'{len(idx)} images are {kind} (from image '
                         f'{idx[0]} to {idx[-1]})')
    return '; '.join(found)


def _constant_limit(num_images: int) -> int:
    """Constant images a file may hold: 1 per 1,000 images, at least 1."""
    return max(1, num_images // 1000)


def load_cifar_file(path: str, label_key: str,
                    num_classes: int) -> Tuple[np.ndarray, np.ndarray]:
    """The checked ``(data, labels)`` of one CIFAR pickle.

    Args:
        path (str): The pickle (``data_batch_1``, ``train``, ...).
        label_key (str): ``'labels'`` (CIFAR-10) or ``'fine_labels'``.
        num_classes (int): Labels must lie in ``[0, num_classes)``.

    Raises:
        ValueError: The file does not load, or its content is not a CIFAR
            batch; the message names the file and what is wrong.
    """
    what = f"CIFAR data file '{path}'"
    fix = ('Replace it with the file of the official archive (or '
           'download=True into an empty folder).')
    try:
        entry = pickle.loads(get(path), encoding='latin1')
    except Exception as err:  # truncated / overwritten pickle structure
        raise ValueError(f'{what} does not load ({type(err).__name__}: '
                         f'{err}): the file is truncated or damaged. '
                         f'{fix}') from err
    if not isinstance(entry, dict) or 'data' not in entry or \
            label_key not in entry:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry)
        raise ValueError(f"{what} has no 'data' and '{label_key}' entries "
                         f'(found {keys}). {fix}')
    data = np.asarray(entry['data'])
    labels = np.asarray(entry[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or \
            data.shape[1] != IMAGE_BYTES:
        raise ValueError(f"{what}: 'data' must be a uint8 (N, {IMAGE_BYTES}) "
                         '(32x32x3 images) array, but is '
                         f'{data.dtype} {data.shape}. {fix}')
    if labels.shape != (len(data), ) or labels.dtype.kind not in 'iu':
        raise ValueError(f"{what}: '{label_key}' must hold one integer label "
                         f'per image ({len(data)}), but has {labels.dtype} '
                         f'{labels.shape}. {fix}')
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{what}: '{label_key}' must lie in [0, "
                         f'{num_classes}), but range over [{labels.min()}, '
                         f'{labels.max()}]. {fix}')
    constant = constant_images(data)
    if len(constant) > _constant_limit(len(data)):
        values = sorted({int(v) for v in data[constant, 0]})
        raise ValueError(
            f'{what}: {len(constant)} of its {len(data)} images are '
            f'constant (every pixel {values[:5]}), from image {constant[0]} '
            f'to {constant[-1]}: bytes of the file were overwritten (the '
            f'real CIFAR has no such image). {fix}')
    return data, labels.astype(np.int64)


def check_class_counts(labels: np.ndarray, expected: int, num_classes: int,
                       files: Sequence[str], split: str) -> None:
    """Raise unless every class has ``expected`` images in ``labels``.

    Raises:
        ValueError: Naming the split's files, the classes that differ and
            the counts.
    """
    counts = np.bincount(labels, minlength=num_classes)
    wrong: List[int] = np.flatnonzero(counts != expected).tolist()
    if not wrong:
        return
    found: Dict[int, int] = {c: int(counts[c]) for c in wrong[:5]}
    raise ValueError(
        f"CIFAR data files {list(files)} ({split} split): every class must "
        f'have {expected} images, but {len(wrong)} classes differ (class: '
        f'images {found}{", ..." if len(wrong) > 5 else ""}). The files are '
        'damaged or not the official split; for a reduced copy of the data '
        'set images_per_class of the dataset, e.g. '
        f'images_per_class=dict(train=N, test=M).')
