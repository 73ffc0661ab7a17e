"""The feature study (the xERM paper's Table 6): checks and the table.

A config of ``configs/feature_study/`` freezes its backbone
(``frozen_stages``: no gradient, BatchNorm in eval mode) and loads it from
a classifier checkpoint through ``model.backbone.init_cfg`` (mmpretrain's
``Pretrained`` with ``prefix='backbone.'``); only the new linear classifier
trains. ``init_cfg`` loads leniently (mismatches are only logged), so the
tool checks each checkpoint's backbone against the config's first.
"""
from collections import OrderedDict
from typing import Dict

import torch.nn as nn
from mmengine.config import Config

from xerm_mm.evaluation.report import split_by_test_set
from xerm_mm.utils.checkpoint_checks import (check_finite,
                                             check_state_dict_fits)
from .trained_model import checkpoint_state_dict

#: The ``--cfg-options`` key of the backbone's checkpoint.
CHECKPOINT_KEY = 'model.backbone.init_cfg.checkpoint'
PREFIX = 'backbone.'
#: Table columns: LongTailMetric's key of each.
COLUMNS = OrderedDict([('top1', 'top1'), ('many', 'many_recall'),
                       ('medium', 'medium_recall'), ('few', 'few_recall')])


def check_study_config(cfg: Config, model: nn.Module, path: str) -> None:
    """Raise ValueError unless ``cfg`` loads its backbone from a checkpoint
    (``init_cfg`` Pretrained, prefix ``backbone.``) and ``model`` (built from
    it) trains nothing of the backbone but the head."""
    init_cfg = cfg.model.backbone.get('init_cfg') or {}
    if not isinstance(init_cfg, dict) or init_cfg.get('type') not in (
            'Pretrained', 'mmpretrain.Pretrained') or \
            init_cfg.get('prefix') != PREFIX:
        raise ValueError(
            f'{path}: model.backbone.init_cfg is {init_cfg!r}; a feature '
            "study config loads its backbone with init_cfg=dict(type="
            "'Pretrained', checkpoint='', prefix='backbone.') (see configs/"
            'feature_study/)')
    trainable = [n for n, p in model.backbone.named_parameters()
                 if p.requires_grad]
    if trainable:
        raise ValueError(
            f'{path}: the backbone is not frozen ({len(trainable)} '
            f'trainable tensors, e.g. {trainable[0]}); set '
            'model.backbone.frozen_stages to its number of stages (4 for '
            'BBNResNet32 and ResNeXt-50)')


def check_backbone_checkpoint(model: nn.Module, checkpoint: str,
                              name: str) -> None:
    """Raise unless ``checkpoint`` holds finite ``backbone.`` weights that
    fit ``model.backbone`` exactly (an XE, PC, TDE or xERM checkpoint of the
    same backbone).

    Raises:
        FileNotFoundError, CheckpointFileError: The file is missing or bad.
        KeyError: It holds no ``backbone.`` weights.
        NonFiniteWeightsError, CheckpointMismatchError: naming the file.
    """
    source = f'--model {name}: checkpoint {checkpoint!r}'
    state = checkpoint_state_dict(checkpoint)
    backbone = {k[len(PREFIX):]: v for k, v in state.items()
                if k.startswith(PREFIX)}
    if not backbone:
        raise KeyError(f'{source} holds no {PREFIX}* weights; give the '
                       'checkpoint of a classifier trained by tools/'
                       'train.py (XE, PC, TDE, xERM-PC or xERM-TDE)')
    check_finite(backbone, source)
    check_state_dict_fits(model.backbone, backbone,
                          f'{source} (its {PREFIX}* part)')


def study_row(metrics: Dict) -> Dict[str, float]:
    """``{top1, many, medium, few}`` of the one test set of ``metrics``
    (``tools/test.py``'s metrics of a feature study config)."""
    rows = split_by_test_set(metrics)
    row = rows.get('balanced') or next(iter(rows.values()))
    return OrderedDict((column, row[key]) for column, key in COLUMNS.items())
