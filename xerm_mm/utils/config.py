"""Helpers the command-line tools share: config overrides and the runner."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

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


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` (default XERMRunner).

    Our RUNNERS registry takes the scoped name of the configs
    (``'xerm_mm.XERMRunner'``, which MMEngine's root registry resolves too)
    and the plain one.
    """
    from xerm_mm.registry import RUNNERS
    cfg.setdefault('runner_type', 'xerm_mm.XERMRunner')
    return RUNNERS.build(cfg)


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
