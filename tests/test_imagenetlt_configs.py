"""The ImageNet-LT configs: the XE recipe resolves, its model builds and
runs, and its dataset and pipelines read a tiny generated list tree."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import xerm_mm  # noqa: F401  (registers the scoped types)
from xerm_mm.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECIPE = osp.join(ROOT, 'configs/xe/xe_resnext50_1xb256-90e_imagenetlt.py')
TRAIN_COUNTS = (6, 3, 2)  # a 3-class long tail
TEST_PER_CLASS = 5


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(RECIPE)


@pytest.fixture(scope='module')
def list_tree(tmp_path_factory):
    """ImageNet_LT_{train,test}.txt over small JPEGs, paths as published."""
    root = tmp_path_factory.mktemp('imagenet')
    rng = np.random.default_rng(0)
    lines = {'train': [], 'test': []}
    for label, n_train in enumerate(TRAIN_COUNTS):
        for split, folder, count in (('train', 'train', n_train),
                                     ('test', 'val', TEST_PER_CLASS)):
            os.makedirs(root / folder / f'n{label}', exist_ok=True)
            for i in range(count):
                rel = f'{folder}/n{label}/img_{i}.JPEG'
                img = rng.integers(0, 256, (40 + 7 * i, 60, 3), np.uint8)
                assert cv2.imwrite(str(root / rel), img,
                                   [cv2.IMWRITE_JPEG_QUALITY, 90])
                lines[split].append(f'{rel} {label}')
    for split, split_lines in lines.items():
        (root / f'ImageNet_LT_{split}.txt').write_text(
            '\n'.join(split_lines) + '\n')
    return str(root)


def test_recipe_resolves_to_the_paper_setting(cfg):
    assert cfg.train_dataloader.batch_size == 256
    assert cfg.train_dataloader.dataset.type == 'xerm_mm.ImageNetLT'
    assert cfg.train_cfg.max_epochs == 90
    assert cfg.optim_wrapper.optimizer.lr == 0.05
    assert cfg.param_scheduler[0].type == 'CosineAnnealingLR'
    assert cfg.model.head.num_classes == cfg.data_preprocessor.num_classes
    assert set(cfg.test_cfg.test_sets) == {'balanced'} | {
        f'ib{ib}{s}' for ib in (50, 25, 10, 5) for s in ('', '_bwd')}


def test_model_builds_and_forwards(cfg):
    model_cfg = cfg.model.copy()
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg).eval()
    with torch.no_grad():
        scores = model(torch.rand(2, 3, 64, 64), mode='tensor')
    assert scores.shape == (2, 1000)
    assert torch.isfinite(scores).all()


def _dataset(cfg, loader, list_tree, **overrides):
    ds_cfg = cfg[loader].dataset.copy()
    ds_cfg.update(data_root=list_tree, num_classes=len(TRAIN_COUNTS),
                  **overrides)
    return DATASETS.build(ds_cfg)


def test_train_set_and_pipeline(cfg, list_tree):
    dataset = _dataset(cfg, 'train_dataloader', list_tree)
    assert len(dataset) == sum(TRAIN_COUNTS)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    for inputs in batch['inputs']:
        assert tuple(inputs.shape) == (3, 224, 224)
        assert inputs.dtype == torch.uint8


@pytest.mark.parametrize('name', ['balanced', 'ib5'])
def test_test_sets_and_pipeline(cfg, list_tree, name):
    overrides = cfg.test_cfg.test_sets[name]
    dataset = _dataset(cfg, 'test_dataloader', list_tree, **overrides)
    if name == 'balanced':
        assert len(dataset) == TEST_PER_CLASS * len(TRAIN_COUNTS)
    else:  # forward profile: the head class keeps most of its images
        assert len(dataset) < TEST_PER_CLASS * len(TRAIN_COUNTS)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    for inputs in batch['inputs']:
        assert tuple(inputs.shape) == (3, 224, 224)
