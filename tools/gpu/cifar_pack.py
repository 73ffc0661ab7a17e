"""Pack the CIFAR-100 images one long-tailed experiment reads, and unpack them.

``pack`` keeps the images of one long-tailed training split and the whole
test split as lossless WebP; ``unpack`` writes ``cifar-100-python`` again,
with placeholders for the images left out (docs/gpu.md).

    python tools/gpu/cifar_pack.py {pack,unpack} SRC DST
"""
import argparse
import hashlib
import io
import os
import os.path as osp
import pickle
import sys
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

FOLDER = 'cifar-100-python'
SPLITS = ('train', 'test')
LABEL_KEYS = ('fine_labels', 'coarse_labels')
PLACEHOLDER = (np.arange(3072) % 251).astype(np.uint8)


def _md5(data: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(data).tobytes()).hexdigest()


def _encode(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Lossless WebP of each CIFAR row (3072 bytes, channel planes)."""
    chunks: List[bytes] = []
    for row in rows:
        buf = io.BytesIO()
        Image.fromarray(row.reshape(3, 32, 32).transpose(1, 2, 0)).save(
            buf, 'WEBP', lossless=True, quality=100, method=4)
        chunks.append(buf.getvalue())
    offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    return np.frombuffer(b''.join(chunks), np.uint8), offsets


def _decode(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    rows = np.empty((len(offsets) - 1, 3072), np.uint8)
    raw = blob.tobytes()
    for i in range(len(rows)):
        img = Image.open(io.BytesIO(raw[offsets[i]:offsets[i + 1]]))
        rows[i] = np.asarray(img.convert('RGB')).transpose(2, 0,
                                                            1).reshape(-1)
    return rows


def _load(path: str) -> dict:
    try:
        with open(path, 'rb') as f:
            return pickle.load(f, encoding='latin1')
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise SystemExit(f"cifar_pack: cannot read '{path}' ({err}): give "
                         f'the folder that holds {FOLDER}/') from err


def lt_keep(fine_labels: np.ndarray, imbalance_ratio: float,
            seed: int) -> np.ndarray:
    """Sorted indices of the seeded long-tailed training split."""
    from xerm_mm.datasets.lt_profile import img_num_per_cls, long_tail_indices
    counts = np.bincount(fine_labels)
    num = img_num_per_cls(int(counts.max()), len(counts), imbalance_ratio)
    return np.sort(long_tail_indices(fine_labels, num, seed))


def pack(src_root: str, dest: str, imbalance_ratio: float = 100,
         seed: int = 0) -> Dict[str, int]:
    """Write the pack ``dest`` (.npz) from ``src_root/cifar-100-python``.

    Returns:
        dict: images kept per split and the pack's size in bytes.
    """
    arrays = dict(imbalance_ratio=np.float64(imbalance_ratio),
                  seed=np.int64(seed))
    with open(osp.join(src_root, FOLDER, 'meta'), 'rb') as f:
        arrays['meta'] = np.frombuffer(f.read(), np.uint8)
    kept = {}
    for split in SPLITS:
        entry = _load(osp.join(src_root, FOLDER, split))
        data = np.asarray(entry['data'], np.uint8)
        fine = np.asarray(entry['fine_labels'], np.int64)
        keep = lt_keep(fine, imbalance_ratio, seed) if split == 'train' \
            else np.arange(len(data))
        blob, offsets = _encode(data[keep])
        arrays.update({
            f'{split}_num': np.int64(len(data)),
            f'{split}_keep': keep.astype(np.int32),
            f'{split}_webp': blob,
            f'{split}_offsets': offsets,
            f'{split}_md5': np.array(_md5(data[keep])),
        })
        for key in LABEL_KEYS:
            arrays[f'{split}_{key}'] = np.asarray(entry[key], np.int16)
        kept[split] = len(keep)
    os.makedirs(osp.dirname(osp.abspath(dest)), exist_ok=True)
    tmp = dest + '.part'
    with open(tmp, 'wb') as f:
        np.savez(f, **arrays)
    os.replace(tmp, dest)
    return dict(kept, bytes=osp.getsize(dest))


def unpack(pack_path: str, dest_root: str) -> Dict[str, int]:
    """Write ``dest_root/cifar-100-python/{train,test,meta}`` from a pack.

    Raises:
        SystemExit: The pack does not load, or a restored image differs
            from the packed one (md5).
    """
    try:
        arrays = dict(np.load(pack_path))
    except (OSError, ValueError) as err:
        raise SystemExit(f"cifar_pack: '{pack_path}' is not a pack of "
                         f'tools/gpu/cifar_pack.py ({err})') from err
    folder = osp.join(dest_root, FOLDER)
    os.makedirs(folder, exist_ok=True)
    ratio, seed = float(arrays['imbalance_ratio']), int(arrays['seed'])
    for split in SPLITS:
        keep = arrays[f'{split}_keep']
        rows = _decode(arrays[f'{split}_webp'], arrays[f'{split}_offsets'])
        if _md5(rows) != str(arrays[f'{split}_md5']):
            raise SystemExit(f"cifar_pack: the {split} images of "
                             f"'{pack_path}' do not decode to the packed "
                             'ones (md5 differs): pack the data again')
        num = int(arrays[f'{split}_num'])
        data = np.tile(PLACEHOLDER, (num, 1))
        data[keep] = rows
        label = f'{split} split of CIFAR-100' if len(keep) == num else (
            f'{split} split of CIFAR-100: real images only in the '
            f'long-tailed split imbalance_ratio={ratio:g} seed={seed} '
            f'({len(keep)} images), a placeholder elsewhere')
        entry = dict(
            batch_label=label,
            filenames=[f'{split}_{i:05d}.png' for i in range(num)],
            data=data)
        for key in LABEL_KEYS:
            entry[key] = arrays[f'{split}_{key}'].astype(np.int64).tolist()
        with open(osp.join(folder, split), 'wb') as f:
            pickle.dump(entry, f, protocol=4)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        f.write(arrays['meta'].tobytes())
    return {split: len(arrays[f'{split}_keep']) for split in SPLITS}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('pack', help='cifar-100-python -> pack (.npz)')
    p.add_argument('src_root', help='folder holding cifar-100-python/')
    p.add_argument('dest', help='the pack to write (.npz)')
    p.add_argument('--imbalance-ratio', type=float, default=100)
    p.add_argument('--seed', type=int, default=0)
    u = sub.add_parser('unpack', help='pack -> DEST_ROOT/cifar-100-python')
    u.add_argument('pack', help='a pack written by the pack command')
    u.add_argument('dest_root', help='folder to write cifar-100-python/ in')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.command == 'pack':
        result = pack(args.src_root, args.dest, args.imbalance_ratio,
                      args.seed)
        print(f"cifar_pack: {args.dest}: {result['train']} train and "
              f"{result['test']} test images, {result['bytes']} bytes")
    else:
        result = unpack(args.pack, args.dest_root)
        print(f"cifar_pack: {osp.join(args.dest_root, FOLDER)}: "
              f"{result['train']} real train and {result['test']} test "
              'images restored')


if __name__ == '__main__':
    sys.exit(main())
