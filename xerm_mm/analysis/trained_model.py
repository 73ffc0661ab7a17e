"""A trained model and its test set, for the tools that run a model.

The config's model with the checkpoint loaded under ``tools/test.py``'s
checks (missing, empty, truncated, NaN/inf, keys and shapes), and the
config's test dataset or one of its ``test_cfg.test_sets``.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from xerm_mm.registry import DATASETS, MODELS
from xerm_mm.utils.checkpoint_checks import (check_finite,
                                             check_state_dict_fits,
                                             read_checkpoint, state_dict_of)
from xerm_mm.utils.config import resolve_config_path, set_data_root


def load_config(config: str, data_root: Optional[str] = None) -> Config:
    """The config file (``xerm_mm::`` paths too), ``data_root`` applied."""
    cfg = Config.fromfile(resolve_config_path(config))
    if data_root is not None:
        set_data_root(cfg, data_root)
    return cfg


def build_test_dataset(cfg: Config,
                       test_set: Optional[str] = None) -> BaseDataset:
    """The config's test dataset, or its ``test_cfg.test_sets[test_set]``.

    Raises:
        KeyError: ``test_set`` is not a set of the config (the sets named).
    """
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    if test_set is not None:
        sets = (cfg.get('test_cfg') or {}).get('test_sets') or {}
        if test_set not in sets:
            raise KeyError(f'--test-set {test_set!r} is not in the config\'s '
                           f'test_cfg.test_sets: {list(sets)}')
        overrides = copy.deepcopy(sets[test_set])
        if 'type' in overrides:
            dataset = overrides
        else:
            dataset.update(overrides)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        return DATASETS.build(dataset)


def checkpoint_state_dict(checkpoint: str) -> dict:
    """The weights of a checkpoint file (read weights-only, errors naming
    it), without a DDP ``module.`` prefix."""
    state_dict = state_dict_of(read_checkpoint(checkpoint))
    return {k[7:] if k.startswith('module.') else k: v
            for k, v in state_dict.items()}


def build_model(cfg: Config) -> nn.Module:
    """The config's model, untrained (the top-level ``data_preprocessor``
    is the model's unless it sets one, as MMEngine's Runner does)."""
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        return MODELS.build(model_cfg)


def load_model(cfg: Config, checkpoint: str,
               dataset: Optional[BaseDataset] = None) -> nn.Module:
    """The config's model with the checkpoint's weights, in eval mode.

    As ``tools/test.py`` loads it: the file is refused if missing, empty,
    truncated, holding NaN/inf, or not fitting the model (keys, shapes). A
    PC head without training class counts (an XE checkpoint) takes them from
    ``dataset.metainfo['train_class_counts']``, as ``SetTrainClassCountsHook``
    does before testing.

    Raises:
        FileNotFoundError, CheckpointFileError, NonFiniteWeightsError,
        CheckpointMismatchError: naming the checkpoint.
    """
    state_dict = checkpoint_state_dict(checkpoint)
    model = build_model(cfg)
    source = f'checkpoint {checkpoint!r}'
    check_finite(state_dict, source)
    check_state_dict_fits(model, state_dict, source)
    model.load_state_dict(state_dict, strict=False)
    head = getattr(model, 'head', None)
    if hasattr(head, 'set_class_counts') and not head.has_class_counts:
        counts = (dataset.metainfo if dataset is not None else
                  {}).get('train_class_counts')
        if counts is None:
            raise KeyError(f'{source}: its {type(head).__name__} needs the '
                           'training class counts and the test dataset has '
                           "no metainfo['train_class_counts']")
        head.set_class_counts(counts)
    return model.eval()


def load_model_and_test_set(
        config: str,
        checkpoint: str,
        data_root: Optional[str] = None,
        test_set: Optional[str] = None) -> Tuple[nn.Module, BaseDataset]:
    """:func:`load_model` and :func:`build_test_dataset` of one config."""
    cfg = load_config(config, data_root)
    dataset = build_test_dataset(cfg, test_set)
    return load_model(cfg, checkpoint, dataset), dataset


def resolved_models(models: Sequence[Sequence[str]]) -> List[Tuple[str, str,
                                                                   str]]:
    """``--model NAME CONFIG CHECKPOINT`` entries, each config resolved
    (``xerm_mm::`` paths) and each checkpoint checked to exist.

    Raises:
        FileNotFoundError: naming the model and the missing file.
    """
    resolved = []
    for name, config, checkpoint in models:
        try:
            config = resolve_config_path(config)
        except FileNotFoundError as error:
            raise FileNotFoundError(f'--model {name}: {error}') from None
        check_checkpoint_file(name, checkpoint)
        resolved.append((name, config, checkpoint))
    return resolved


def check_checkpoint_file(name: str, checkpoint: str) -> None:
    """Raise FileNotFoundError naming ``--model name`` if ``checkpoint`` is
    not a file."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'--model {name}: checkpoint {checkpoint!r} not found; give the '
            '.pth file of a finished training run')
