"""Helpers the command-line tools share: loading a config, overriding it,
building the runner."""
import os.path as osp
import tempfile
from typing import Mapping, Optional

import mmengine
import yaml
from mmengine.config import Config

from xerm_mm.utils.cfg_options import check_option_types
from xerm_mm.utils.config_checks import check_config, follow_training_split

PACKAGE_PREFIX = 'xerm_mm::'
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets_of(cfg: Config):
    """Yield every dataset config of the dataloaders (wrappers included)."""
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader:
            continue
        stack = [loader.get('dataset')]
        while stack:
            dataset = stack.pop()
            if not dataset:
                continue
            yield dataset
            stack.append(dataset.get('dataset'))
            stack.extend(dataset.get('datasets', []))


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset that reads a ``data_root`` at ``data_root``.

    Raises:
        FileNotFoundError: ``data_root`` is not a folder.
        KeyError: no dataset of the config reads a ``data_root``.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'--data-root {data_root!r} is not a folder. Give the folder '
            'that holds the dataset (e.g. the one with cifar-100-python/ '
            'inside).')
    found = False
    for dataset in _datasets_of(cfg):
        if 'data_root' in dataset:
            dataset['data_root'] = data_root
            found = True
    if not found:
        raise KeyError('--data-root given, but no dataset of the config has '
                       'a data_root field (is it the embedded DigitsLT?).')


def set_work_dir(cfg: Config, config_path: str,
                 work_dir: Optional[str] = None) -> None:
    """``work_dir`` if given, else the config's, else
    ``./work_dirs/{config name}`` (mmpretrain's tools' rule)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def _yaml_error_file(path: str) -> Optional[str]:
    """The YAML file of ``path``'s ``_base_`` chain that does not parse."""
    if not path.endswith(('.yaml', '.yml')):
        return None
    with tempfile.TemporaryDirectory() as folder:
        copy = osp.join(folder, 'config' + osp.splitext(path)[1])
        # MMEngine's own substitutions of {{ fileDirname }}, {{ _base_.x }}
        Config._substitute_predefined_vars(path, copy)
        Config._pre_substitute_base_vars(copy, copy)
        try:
            bases = mmengine.load(copy).get('_base_', [])
        except yaml.YAMLError:
            return path
    for base in bases if isinstance(bases, list) else [bases]:
        found = _yaml_error_file(Config._get_cfg_path(base, path)[0])
        if found:
            return found
    return None


def load_config(path: str) -> Config:
    """``Config.fromfile(path)``; a YAML syntax error names its file.

    Raises:
        ValueError: A YAML file of the config (``path`` or one of its
            ``_base_`` files) is not valid YAML.
    """
    try:
        return Config.fromfile(path)
    except yaml.YAMLError as error:
        bad = _yaml_error_file(osp.abspath(path)) or path
        raise ValueError(f'{bad} is not valid YAML: ' + str(error).replace(
            '"<file>"', f'"{bad}"')) from error


def merge_cfg_options(cfg: Config, options: Mapping) -> Config:
    """Merge ``--cfg-options`` into ``cfg``: checked, the test sets following
    the training split.

    The values must have the types the config holds
    (:func:`~xerm_mm.utils.cfg_options.check_option_types`); a training split
    changed here (``train_dataloader.dataset.imbalance_ratio=10``) is
    followed by the test sets' training counts
    (:func:`~xerm_mm.utils.config_checks.follow_training_split`).
    """
    check_option_types(cfg, options)
    cfg.merge_from_dict(options)
    follow_training_split(cfg, options)
    return cfg


def build_runner(cfg: Config):
    """Check ``cfg``, then build the runner named by ``cfg.runner_type``
    (default XERMRunner).

    The checks (:func:`~xerm_mm.utils.config_checks.check_config`) come
    first; the runner gets a :class:`~xerm_mm.utils.data_checks.
    HeadClassesCheckHook`. Our RUNNERS registry takes the scoped name of the
    configs (``'xerm_mm.XERMRunner'``, which MMEngine's root registry
    resolves too) and the plain one.
    """
    from xerm_mm.registry import RUNNERS
    from xerm_mm.utils.data_checks import HeadClassesCheckHook
    check_config(cfg)
    cfg.setdefault('runner_type', 'xerm_mm.XERMRunner')
    runner = RUNNERS.build(cfg)
    runner.register_hook(HeadClassesCheckHook())
    return runner


def resolve_config_path(path: str) -> str:
    """Path of a config file; ``xerm_mm::x/y.py`` is a config of the package.

    Such a path is looked up in the package's ``.mim/configs`` (installed
    configs), then in the ``configs/`` folder next to the package (source
    checkout); any other path is taken as it is.

    Raises:
        FileNotFoundError: The file does not exist.
    """
    if path.startswith(PACKAGE_PREFIX):
        rel = path[len(PACKAGE_PREFIX):]
        pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
        candidates = [
            osp.join(pkg, '.mim', 'configs', rel),
            osp.join(osp.dirname(pkg), 'configs', rel)
        ]
    else:
        candidates = [path]
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'config {path!r} not found (looked at '
                            f'{candidates})')
