"""Read the ``relative/path label`` list files of the long-tailed benchmarks.

The label is split off at the last whitespace: a path may hold spaces.
"""
from typing import List, Tuple

import numpy as np
from mmengine.fileio import get_text

__all__ = ['read_list_file']


def read_list_file(path: str) -> Tuple[List[str], np.ndarray]:
    """Paths and labels of a list file; blank lines are skipped.

    Args:
        path (str): The list file (any mmengine file backend).

    Returns:
        tuple[list[str], np.ndarray]: Relative image paths and their int64
        labels, in file order.

    Raises:
        ValueError: A line is not ``path label`` with an integer label
            ``>= 0``; the message names the file, the line number and the
            line.
    """
    paths, labels = [], []
    for lineno, line in enumerate(get_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(maxsplit=1)
        label = parts[1] if len(parts) == 2 else ''
        if not label.isdigit() or not label.isascii():
            raise ValueError(
                f'{path}, line {lineno}: expected "relative/path label" '
                f'with an integer label >= 0, but got {line!r}')
        paths.append(parts[0])
        labels.append(int(label))
    return paths, np.asarray(labels, dtype=np.int64)
