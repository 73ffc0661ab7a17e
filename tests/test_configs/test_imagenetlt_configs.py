"""The ImageNet-LT data settings: the recipes' dataset and pipelines read a
tiny generated list tree (train, and the balanced / forward / backward
imbalanced test sets). The recipes' settings and models:
tests/test_configs/test_lt_recipes.py."""
import os.path as osp

import pytest
import torch
from lt_tree import write_lt_tree
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import xerm_mm  # noqa: F401  (registers the scoped types)
from xerm_mm.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = osp.join(ROOT, 'configs/xe/xe_resnext50_1xb256-90e_imagenetlt.py')
TRAIN_COUNTS = (6, 3, 2)  # a 3-class long tail
TEST_PER_CLASS = 5


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(RECIPE)


@pytest.fixture(scope='module')
def list_tree(tmp_path_factory):
    """ImageNet_LT_{train,test}.txt over small JPEGs, paths as published."""
    return write_lt_tree(str(tmp_path_factory.mktemp('imagenet')),
                         'imagenetlt', TRAIN_COUNTS,
                         test_per_class=TEST_PER_CLASS)


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


@pytest.mark.parametrize('name', ['balanced', 'ib5', 'ib5_bwd'])
def test_test_sets_and_pipeline(cfg, list_tree, name):
    overrides = cfg.test_cfg.test_sets[name]
    dataset = _dataset(cfg, 'test_dataloader', list_tree, **overrides)
    if name == 'balanced':
        assert len(dataset) == TEST_PER_CLASS * len(TRAIN_COUNTS)
    else:  # imbalanced: fewer images; forward keeps the head class's
        assert len(dataset) < TEST_PER_CLASS * len(TRAIN_COUNTS)
        labels = [dataset.get_data_info(i)['gt_label']
                  for i in range(len(dataset))]
        head, tail = labels.count(0), labels.count(len(TRAIN_COUNTS) - 1)
        assert (head > tail) == (name == 'ib5')
    batch = pseudo_collate([dataset[i] for i in range(2)])
    for inputs in batch['inputs']:
        assert tuple(inputs.shape) == (3, 224, 224)
