"""Miniature trees of the large long-tailed benchmarks, for tests.

:func:`write_lt_tree` writes the published list files of ImageNet-LT,
Places365-LT or iNaturalist 2018 (``ImageNet_LT_{train,val,test}.txt``,
``Places_LT_{train,val,test}.txt``, ``iNaturalist18_{train,val}.txt``) over
small random JPEGs, the image paths shaped as in the published lists
(``train/n00000000/n00000000_3.JPEG``, ``val/ILSVRC2012_val_00000007.JPEG``,
``data_256/c/class_2/00000001.jpg``, ``train_val2018/Plantae/1/....jpg``),
so that the datasets, their configs and ``tools/run_pipeline.py`` read it as
they read the real data: ``--data-root ROOT``.

    from lt_tree import write_lt_tree
    root = write_lt_tree(str(tmp_path), 'imagenetlt', train_counts=(8, 4, 2))
"""
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

__all__ = [
    'LAYOUTS', 'miniature_options', 'write_lt_tree', 'write_pretrained_stand_ins'
]


def _imagenet(split: str, label: int, i: int, k: int) -> str:
    if split == 'test':  # from ILSVRC-2012 val: one flat folder
        return f'val/ILSVRC2012_val_{k:08d}.JPEG'
    wnid = f'n{label:08d}'  # train and val: from ILSVRC-2012 train
    return f'train/{wnid}/{wnid}_{i if split == "train" else 10000 + i}.JPEG'


def _places(split: str, label: int, i: int, k: int) -> str:
    if split == 'test':  # from Places365 val: one flat folder
        return f'val_256/Places365_val_{k:08d}.jpg'
    name = f'class_{label}'
    n = i if split == 'train' else 10000 + i
    return f'data_256/{name[0]}/{name}/{n:08d}.jpg'


def _inat(split: str, label: int, i: int, k: int) -> str:
    kingdom = ('Plantae', 'Insecta', 'Aves')[label % 3]
    return f'train_val2018/{kingdom}/{label}/{split}{i:04d}{k:06d}.jpg'


#: benchmark: (list file name with ``{split}``, its splits, image path of
#: ``(split, label, index in its class, index in the split)``).
LAYOUTS: Dict[str, tuple] = {
    'imagenetlt': ('ImageNet_LT_{split}.txt', ('train', 'val', 'test'),
                   _imagenet),
    'places365lt': ('Places_LT_{split}.txt', ('train', 'val', 'test'),
                    _places),
    'inat2018': ('iNaturalist18_{split}.txt', ('train', 'val'), _inat),
}


def write_lt_tree(root: str,
                  benchmark: str = 'imagenetlt',
                  train_counts: Sequence[int] = (12, 6, 3, 2),
                  val_per_class: int = 2,
                  test_per_class: int = 10,
                  size: int = 40,
                  seed: int = 0) -> str:
    """Write a miniature ``benchmark`` tree under ``root``; return ``root``.

    Args:
        root (str): The data root (created if needed).
        benchmark (str): A key of :data:`LAYOUTS`.
        train_counts (Sequence[int]): Training images of each class (the
            long tail); the number of classes is its length.
        val_per_class (int): Images per class of the val list.
        test_per_class (int): Images per class of the test list (iNat has
            none: its val list is its test set).
        size (int): Short side of the images (the long side is 1.25x).
        seed (int): Seed of the random pixels.

    Returns:
        str: ``root``.
    """
    if benchmark not in LAYOUTS:
        raise KeyError(f'benchmark must be one of {sorted(LAYOUTS)}, got '
                       f'{benchmark!r}')
    list_name, splits, path_of = LAYOUTS[benchmark]
    held_out = dict(val=val_per_class, test=test_per_class)
    rng = np.random.default_rng(seed)
    for split in splits:
        lines = []
        for label in range(len(train_counts)):
            count = (train_counts[label] if split == 'train' else
                     held_out[split])
            for i in range(count):
                rel = path_of(split, label, i, len(lines) + 1)
                path = osp.join(root, rel)
                os.makedirs(osp.dirname(path), exist_ok=True)
                # A class-dependent mean, so that the classes differ.
                image = rng.integers(0, 96, (size, size * 5 // 4, 3),
                                     np.uint8) + np.uint8(40 * (label % 5))
                assert cv2.imwrite(path, image,
                                   [cv2.IMWRITE_JPEG_QUALITY, 85]), path
                lines.append(f'{rel} {label}')
        with open(osp.join(root, list_name.format(split=split)), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root


def miniature_options(num_classes: int, crop: int = 32, batch: int = 4,
                      many_thr: int = 10, few_thr: int = 4) -> list:
    """``--cfg-options`` that shrink a large-benchmark config (224 crops,
    the pipelines of ``_base_/datasets/imagenetlt_bs256.py``) to a
    miniature tree: the network's first stage, 1 epoch, ``num_classes``
    classes, ``crop`` pixels
    (test: short side ``crop * 9 // 8``, then the centre crop), batch
    ``batch`` without workers, and many / few-shot thresholds that split a
    few images per class into the three groups. For ``tools/train.py``,
    ``tools/test.py`` and ``tools/run_pipeline.py`` (which also gives them
    to the students' teacher configs)."""
    options = [f'model.head.num_classes={num_classes}',
               # The first stage of the ResNet / ResNeXt only (256 features).
               'model.backbone.num_stages=1',
               'model.backbone.out_indices=(0,)',
               'model.backbone.strides=(1,)',
               'model.backbone.dilations=(1,)', 'model.head.in_channels=256',
               f'data_preprocessor.num_classes={num_classes}',
               'train_cfg.max_epochs=1',
               f'train_dataloader.dataset.pipeline.1.scale={crop}']
    for loader in ('train', 'val', 'test'):
        key = f'{loader}_dataloader'
        options += [f'{key}.batch_size={batch}', f'{key}.num_workers=0',
                    f'{key}.persistent_workers=False',
                    f'{key}.dataset.num_classes={num_classes}']
        if loader != 'train':
            options += [f'{key}.dataset.pipeline.1.scale={crop * 9 // 8}',
                        f'{key}.dataset.pipeline.2.crop_size={crop}',
                        f'{loader}_evaluator.many_thr={many_thr}',
                        f'{loader}_evaluator.few_thr={few_thr}']
    return options


def write_pretrained_stand_ins(pipeline: str) -> list:
    """Write a placeholder for every local pretrained-weights file that the
    stages of ``pipeline`` initialise from and that is missing (relative
    paths: under the current directory), so that the pipeline passes
    :func:`~xerm_mm.experiment.make_plan`'s checks without the real weights
    (the Places365-LT recipes' ImageNet ResNets). The placeholders pass the
    file checks only: they hold no weights. Returns their paths."""
    import torch
    from mmengine.config import Config

    from xerm_mm.utils.config import resolve_config_path
    from xerm_mm.utils.pretrained_checks import pretrained_checkpoints
    written = []
    for stage in Config.fromfile(pipeline).stages:
        cfg = Config.fromfile(resolve_config_path(stage['config']))
        for _, path in pretrained_checkpoints(cfg.get('model') or {}):
            if '://' in path or osp.exists(path):
                continue
            os.makedirs(osp.dirname(path) or '.', exist_ok=True)
            torch.save(dict(state_dict={}), path)  # a checkpoint, no weights
            written.append(path)
    return written
