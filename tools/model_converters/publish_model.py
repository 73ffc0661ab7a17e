"""Strip a checkpoint to weights and minimal meta; name it by date and hash.

    python tools/model_converters/publish_model.py IN.pth OUT.pth
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp

import mmengine
import mmpretrain
import torch

import xerm_mm
from xerm_mm.utils.checkpoint import to_plain
from xerm_mm.utils.checkpoint_checks import read_checkpoint

KEPT_META = ('dataset_meta', 'epoch', 'iter')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0])
    parser.add_argument('in_file', help='checkpoint written by training')
    parser.add_argument(
        'out_file',
        help='output name; OUT.pth becomes OUT_{YYYYMMDD}-{sha256[:8]}.pth')
    return parser.parse_args(argv)


def published_checkpoint(checkpoint: dict) -> dict:
    """The weights and the minimal meta of a training checkpoint."""
    if 'state_dict' not in checkpoint:
        raise KeyError('the checkpoint has no state_dict (its keys: '
                       f'{sorted(checkpoint)}); give one written by '
                       'tools/train.py')
    meta = checkpoint.get('meta') or {}
    kept = {key: meta[key] for key in KEPT_META if key in meta}
    kept.update(
        xerm_mm_version=xerm_mm.__version__,
        mmpretrain_version=mmpretrain.__version__,
        mmengine_version=mmengine.__version__)
    return dict(
        meta=to_plain(kept, "checkpoint['meta']"),
        state_dict=checkpoint['state_dict'])


def publish(in_file: str, out_file: str) -> str:
    """Write the published checkpoint; return its path."""
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'checkpoint {in_file!r} not found')
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise FileNotFoundError(f'output folder {out_dir!r} does not exist; '
                                'create it first')
    # Weights-only (explicitly); errors naming the file.
    checkpoint = read_checkpoint(in_file)
    published = published_checkpoint(checkpoint)
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    temp = f'{stem}.publishing'
    try:
        torch.save(published, temp)
        with open(temp, 'rb') as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        date = datetime.date.today().strftime('%Y%m%d')
        final = f'{stem}_{date}-{sha[:8]}.pth'
        os.replace(temp, final)
    finally:
        if osp.exists(temp):
            os.remove(temp)
    return final


def main(argv=None):
    args = parse_args(argv)
    final = publish(args.in_file, args.out_file)
    print(f'published checkpoint: {final}')
    return final


if __name__ == '__main__':
    main()
