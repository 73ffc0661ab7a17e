"""The pretrained files a model config initialises from, checked up front."""
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from xerm_mm.utils.checkpoint_checks import (CheckpointFileError,
                                             check_checkpoint_file)

# Model keys whose configs are not initialised by the model's init_weights()
# (XERMClassifier's frozen teachers load their own checkpoints).
SKIPPED_KEYS = ('teacher', 'imbalanced_teacher', 'balanced_teacher')
# Where to look for other pretrained weights.
MODEL_ZOOS = ('mmpretrain\'s model zoo (https://mmpretrain.readthedocs.io/en/'
              'latest/modelzoo_statistics.html) or torchvision\'s '
              '(https://pytorch.org/vision/stable/models.html)')


def _init_cfgs(init_cfg, key: str) -> Iterator[Tuple[str, dict]]:
    if isinstance(init_cfg, dict):
        yield key, init_cfg
    elif isinstance(init_cfg, (list, tuple)):
        for i, item in enumerate(init_cfg):
            yield from _init_cfgs(item, f'{key}.{i}')


def pretrained_checkpoints(cfg, key: str = 'model') -> List[Tuple[str, str]]:
    """Every ``(config key, checkpoint)`` of a ``Pretrained`` init_cfg.

    Args:
        cfg: A model config (dict) or any part of one.
        key (str): Its config key, the prefix of the keys returned.

    Returns:
        list: ``('model.backbone.init_cfg.checkpoint', 'checkpoints/x.pth')``
        pairs, in config order; the teachers' configs are left out.
    """
    found = []
    if isinstance(cfg, dict):
        for name, value in cfg.items():
            if name in SKIPPED_KEYS:
                continue
            if name == 'init_cfg':
                for where, init in _init_cfgs(value, f'{key}.init_cfg'):
                    if (init.get('type') == 'Pretrained'
                            and init.get('checkpoint') is not None):
                        found.append(
                            (f'{where}.checkpoint', init['checkpoint']))
            else:
                found += pretrained_checkpoints(value, f'{key}.{name}')
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            found += pretrained_checkpoints(value, f'{key}.{i}')
    return found


def zoo_url(path: str) -> Optional[str]:
    """The URL of mmpretrain's model zoo whose file name is ``path``'s.

    Reads the model index of mmpretrain's metafiles (the weights' URLs; no
    config is loaded, nothing is downloaded); None if no file matches or
    the index cannot be read.
    """
    from mmpretrain.apis import ModelHub
    name = osp.basename(path)
    try:
        ModelHub._register_mmpretrain_models()
        models = ModelHub._models_dict.values()
    except Exception:  # another mmpretrain version: no hint
        return None
    for model in models:
        weights = getattr(model, 'weights', None)
        if weights and osp.basename(weights) == name:
            return weights
    return None


def _missing_message(key: str, path: str) -> str:
    url = zoo_url(path)
    where = osp.dirname(path) or '.'
    get = (f'download it: wget -P {where} {url}'
           if url else f'get pretrained weights from {MODEL_ZOOS}')
    return (
        f'{key}: the pretrained weights {path!r} the model is initialised '
        f'from are not found (a local file; the path is relative to the '
        f'directory you run from). Before training, {get}; or give another '
        f'file, or an http(s) URL that MMEngine downloads, with '
        f'--cfg-options {key}=PATH_OR_URL. A torchvision file (parameter '
        f'names without the `backbone.` prefix) also needs '
        f'--cfg-options {key.rsplit(".", 1)[0]}.prefix=None.')


def check_pretrained_files(model_cfg, key: str = 'model') -> None:
    """Raise if a local ``Pretrained`` checkpoint of a model config is
    missing, empty, truncated or not a checkpoint (its first bytes; it is
    not loaded here).

    Args:
        model_cfg: The config's ``model`` (dict or None).
        key (str): Its config key, for the message.

    Raises:
        FileNotFoundError: naming the config key, the file, and how to get
            it (the download command of mmpretrain's model zoo when the file
            name is one of its files) or give another.
        CheckpointFileError: The file is empty, truncated or not a
            checkpoint.
    """
    for where, path in pretrained_checkpoints(model_cfg or {}, key):
        if not isinstance(path, str) or '://' in path:
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(_missing_message(where, path))
        if osp.getsize(path) == 0:
            raise CheckpointFileError(
                f'{where}: the pretrained weights {path!r} are an empty '
                'file (0 bytes: a download cut off); download them again '
                f'or give another file with --cfg-options {where}=PATH.')
        try:
            check_checkpoint_file(path)
        except CheckpointFileError as error:
            raise CheckpointFileError(
                f'{where}: the pretrained weights: {error} Download them '
                f'again or give another file with --cfg-options '
                f'{where}=PATH.') from error
