"""A miniature long-tailed list tree for the large-benchmark configs' tests."""
import os

import cv2
import numpy as np


def write_lt_tree(root, list_name: str, train_counts, test_per_class: int,
                  test_folder: str = 'val') -> str:
    """Write small JPEGs and their train / test lists in ``root``.

    Args:
        root (pathlib.Path): The data root (exists).
        list_name (str): The lists' names with ``{split}``, e.g.
            ``'ImageNet_LT_{split}.txt'``.
        train_counts (list[int]): Training images per class (a long tail).
        test_per_class (int): Test images per class (balanced).
        test_folder (str): The test images' folder. Defaults to ``'val'``.

    Returns:
        str: ``root``. Images ``{train,test_folder}/n{label}/img_{i}.JPEG``
        of varied sizes, paths in the lists relative to ``root``.
    """
    rng = np.random.default_rng(0)
    lines = {'train': [], 'test': []}
    for label, n_train in enumerate(train_counts):
        for split, folder, count in (('train', 'train', n_train),
                                     ('test', test_folder, test_per_class)):
            os.makedirs(root / folder / f'n{label}', exist_ok=True)
            for i in range(count):
                rel = f'{folder}/n{label}/img_{i}.JPEG'
                img = rng.integers(0, 256, (40 + 7 * i, 60, 3), np.uint8)
                assert cv2.imwrite(str(root / rel), img,
                                   [cv2.IMWRITE_JPEG_QUALITY, 90])
                lines[split].append(f'{rel} {label}')
    for split, split_lines in lines.items():
        (root / list_name.format(split=split)).write_text(
            '\n'.join(split_lines) + '\n')
    return str(root)
