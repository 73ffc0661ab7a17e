"""Scan an image-folder tree (``root/class_name/xxx.jpg``) into labels, as
mmpretrain's ``CustomDataset`` does.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.fileio import exists
from mmpretrain.datasets.custom import find_folders, get_samples

__all__ = ['IMG_EXTENSIONS', 'class_folders', 'scan_tree']

#: mmpretrain ``CustomDataset``'s default image extensions.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


def class_folders(root: str, what: str) -> List[str]:
    """The sorted class subfolders of ``root`` (an error if there are none).

    Args:
        root (str): The tree's root.
        what (str): What the tree is, for the error message.
    """
    if not root or not exists(root):
        raise FileNotFoundError(
            f'{what} {root!r} not found: set data_root / data_prefix to a '
            f'folder of class subfolders (root/class_name/xxx.jpg), or '
            f'ann_file to a list file')
    folders, _ = find_folders(root)
    if not folders:
        raise ValueError(f'{what} {root} has no class subfolders (expected '
                         f'root/class_name/xxx.jpg)')
    return folders


def scan_tree(root: str, folder_to_idx: Dict[str, int],
              extensions: Sequence[str]) -> Tuple[List[str], np.ndarray]:
    """Image paths (relative to ``root``) and labels of a class-folder tree.

    Args:
        root (str): The tree's root.
        folder_to_idx (dict): Class folder name -> label; only these folders
            are scanned (they must exist under ``root``).
        extensions (Sequence[str]): Image file extensions (any case).

    Returns:
        tuple: ``paths`` (``class_name/...``) and ``labels`` (int64), in
        mmpretrain's order (by folder name, then sorted file path).
    """
    exts = tuple(e.lower() for e in extensions)
    samples, _ = get_samples(root,
                             folder_to_idx,
                             is_valid_file=lambda f: f.lower().endswith(exts))
    paths = [p for p, _ in samples]
    labels = np.asarray([c for _, c in samples], dtype=np.int64)
    return paths, labels
