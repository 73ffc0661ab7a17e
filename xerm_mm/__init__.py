"""xerm_mm: unbiased long-tailed classification (xERM) on MMEngine/mmpretrain.

Importing the package lets configs inherit ours as ``xerm_mm::path.py``
(docs/get_started.md, "Inheriting our configs from another project").
"""
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']


def _expose_configs_to_mmengine() -> None:
    """Let configs inherit ours as ``xerm_mm::path/to/config.py``.

    MMEngine resolves ``package::`` prefixes only for packages in its
    ``MODULE2PACKAGE`` table, and finds the package through its distribution's
    location, which is not the source folder under an editable (PEP 660)
    install. Register the package, and resolve its path from the imported
    module; the configs are under ``xerm_mm/.mim/configs`` (set up by
    ``setup.py``).
    """
    import os.path as osp

    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('xerm_mm', 'xerm_mm')
    original = config_module.get_installed_path
    if getattr(original, '_xerm_mm', False):
        return

    def get_installed_path(package: str) -> str:
        if package == 'xerm_mm':
            return osp.dirname(osp.abspath(__file__))
        return original(package)

    get_installed_path._xerm_mm = True
    config_module.get_installed_path = get_installed_path


_expose_configs_to_mmengine()
