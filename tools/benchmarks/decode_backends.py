"""JPEG decoding speed of mmcv's image backends, one worker, one process.

Times ``mmcv.imfrombytes`` and mmpretrain's train pipeline per backend on
generated JPEGs (docs/get_started.md, "JPEG decoding").

    python tools/benchmarks/decode_backends.py [--num 200] [--rounds 3]
"""
import argparse
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
from mmcv.image import io as mmcv_io
from mmengine.dataset import Compose
from mmpretrain.utils import register_all_modules

JPEG_BACKENDS = ('cv2', 'pillow', 'turbojpeg')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=200,
                        help='number of generated JPEGs')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--size', type=int, nargs=2, default=(500, 375),
                        metavar=('W', 'H'), help='image width and height')
    args = parser.parse_args(argv)
    if args.num < 1 or args.rounds < 1:
        parser.error(f'--num ({args.num}) and --rounds ({args.rounds}) '
                     'must be at least 1')
    if min(args.size) < 8:
        parser.error(f'--size {args.size[0]} {args.size[1]}: width and '
                     'height must be at least 8 pixels')
    return args


def available_backends():
    """(backends mmcv can decode JPEG with here, {skipped backend: why})."""
    found, skipped = [], {}
    for backend in JPEG_BACKENDS:
        if backend not in mmcv_io.supported_backends:
            skipped[backend] = f'not a backend of mmcv {mmcv_io.__name__}'
        elif backend == 'turbojpeg' and mmcv_io.TurboJPEG is None:
            skipped[backend] = ('PyTurboJPEG is not installed (pip '
                                'install PyTurboJPEG; it also needs '
                                'libturbojpeg: PyTurboJPEG 2.x needs '
                                'libjpeg-turbo >= 3.0, "PyTurboJPEG<2" '
                                'works with 2.x)')
        elif backend == 'turbojpeg' and mmcv_io.jpeg is None:
            # imfrombytes(backend='turbojpeg') reads a module-level decoder
            # that only use_backend('turbojpeg') creates; keep the default.
            default = mmcv_io.imread_backend
            try:
                mmcv_io.use_backend('turbojpeg')
            except (OSError, RuntimeError) as err:
                skipped[backend] = f'libturbojpeg did not load: {err}'
            else:
                found.append(backend)
            finally:
                mmcv_io.imread_backend = default
        else:
            found.append(backend)
    return found, skipped


def make_jpegs(root, num, size, seed=0):
    """Write ``num`` JPEGs of ``size`` (W, H) under ``root``; return paths.

    Content: a few random colour blobs (a coarse random grid, upscaled with
    cubic interpolation) plus mild pixel noise, so that the files compress
    like photographs rather than like pure noise or flat colour.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    paths = []
    for i in range(num):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = cv2.resize(coarse, (width, height),
                         interpolation=cv2.INTER_CUBIC).astype(np.int16)
        img += rng.integers(-12, 13, img.shape, dtype=np.int16)
        img = np.clip(img, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RuntimeError(f'cv2 could not encode image {i} as JPEG')
        path = osp.join(root, f'{i:05d}.jpg')
        buf.tofile(path)
        paths.append(path)
    return paths


def train_pipeline(backend):
    """mmpretrain's ImageNet-style train pipeline decoding with ``backend``."""
    return Compose([
        dict(type='LoadImageFromFile', imdecode_backend=backend),
        dict(type='RandomResizedCrop', scale=224),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4),
    ])


def contenders(backends, paths):
    """{name: function running over all images once}."""
    blobs = []
    for path in paths:
        with open(path, 'rb') as f:
            blobs.append(f.read())
    runs = {}
    for backend in backends:
        def decode(backend=backend):
            for blob in blobs:
                mmcv_io.imfrombytes(blob, backend=backend)

        pipeline = train_pipeline(backend)

        def load_and_augment(pipeline=pipeline):
            for path in paths:
                pipeline(dict(img_path=path))

        runs[f'decode {backend}'] = decode
        runs[f'pipeline {backend}'] = load_and_augment
    return runs


def best_rates(runs, num, rounds):
    """{name: best images/s over ``rounds`` alternating rounds}."""
    for run in runs.values():  # warm-up: imports, caches, first allocations
        run()
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = max(best[name], num / (time.perf_counter() - start))
    return best


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cv2.setNumThreads(1)
    backends, skipped = available_backends()
    for backend, why in skipped.items():
        print(f'skipped {backend}: {why}')
    width, height = args.size
    with tempfile.TemporaryDirectory() as root:
        paths = make_jpegs(root, args.num, args.size)
        print(f'images {args.num} size {width}x{height} quality 90 '
              f'rounds {args.rounds} workers 1 threads 1')
        rates = best_rates(contenders(backends, paths), args.num, args.rounds)
    for name, rate in rates.items():
        print(f'{name:<20s} {rate:9.1f} images/s')
    fastest = max(backends, key=lambda b: rates[f'decode {b}'])
    print(f'fastest {fastest}')
    return rates


if __name__ == '__main__':
    main()
