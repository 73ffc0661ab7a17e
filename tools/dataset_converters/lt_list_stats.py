"""Print the counts of long-tailed list files as a Markdown table.

    python tools/dataset_converters/lt_list_stats.py LIST_OR_DIR [...]
"""
import argparse
import glob
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

from xerm_mm.datasets import img_num_per_cls, read_list_file


def list_row(path: str, ratios: List[float]) -> str:
    """The Markdown table row of one list file."""
    _, labels = read_list_file(path)
    counts = np.bincount(labels)
    row = [
        osp.basename(path), f'{labels.size:,}', f'{counts.size:,}',
        f'{counts.max():,} .. {counts.min():,}'
    ]
    if path.endswith('_train.txt'):
        row.append(f'{(counts > 100).sum()} / '
                   f'{((counts >= 20) & (counts <= 100)).sum()} / '
                   f'{(counts < 20).sum()}')
    else:
        row.append('')
    if path.endswith('_test.txt') and counts.min() == counts.max():
        n_test, num = int(counts[0]), counts.size
        row.append(', '.join(
            f'IB {ib:g}: {sum(img_num_per_cls(n_test, num, ib)):,}'
            for ib in ratios))
    else:
        row.append('')
    return '| ' + ' | '.join(row) + ' |'


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Print (and return) the table of the lists named in ``argv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('lists',
                        nargs='+',
                        help='list files, or folders of *.txt lists')
    parser.add_argument('--ratios',
                        type=float,
                        nargs='+',
                        default=[50, 25, 10, 5],
                        help='imbalance ratios of the test sets to size')
    args = parser.parse_args(argv)
    files = []
    for item in args.lists:
        if osp.isdir(item):
            files += sorted(glob.glob(osp.join(item, '*.txt')))
        elif osp.isfile(item):
            files.append(item)
        else:
            parser.error(f'{item} is neither a list file nor a folder')
    lines = [
        '| list | images | classes | per class (max .. min) | '
        'many / medium / few | imbalanced test set sizes |',
        '|---|---|---|---|---|---|'
    ] + [list_row(f, args.ratios) for f in files]
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main(sys.argv[1:])
