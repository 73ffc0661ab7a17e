"""xerm_mm: unbiased long-tailed classification (xERM) on MMEngine and mmpretrain.

Inheriting the package's configs from another project:
``_base_ = 'xerm_mm::xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py'`` works
once ``xerm_mm`` is imported. MMEngine resolves a ``package::`` prefix only
for the packages of its fixed ``MODULE2PACKAGE`` table, with no entry point
for others; importing this package adds it (below). A config's
``custom_imports`` come too late for that: MMEngine reads them after it has
resolved the config's ``_base_`` files. So:

* in Python, ``import xerm_mm`` before ``Config.fromfile(...)``;
* for a config that a tool you do not control loads (mmpretrain's
  ``tools/train.py`` or ``analysis_tools/get_flops.py``, ``mim train``),
  list first in its ``_base_`` a file of your project holding the one line
  ``__import__('xerm_mm')`` (an ``import`` statement would make MMEngine take
  the file for a lazy-import config): the bases are loaded in order::

      # my_project/configs/xerm_mm_prefix.py
      __import__('xerm_mm')

      # my_project/configs/my_xe.py
      _base_ = ['./xerm_mm_prefix.py',
                'xerm_mm::xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py']

The package's own configs need neither: they inherit through relative paths
and import ``xerm_mm`` with ``custom_imports``, which is what mmpretrain's
tools and ``get_model`` need to find the ``xerm_mm.``-scoped types.
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
