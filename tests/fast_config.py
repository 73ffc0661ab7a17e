"""Faster ``xerm_mm::`` config paths in the test process (not in the tools'
processes, which the tests run as users do).

Each ``xerm_mm::PATH`` a config names (``_base_``, a teacher's or a
stage's config) makes MMEngine reload ``pkg_resources`` to see that
``xerm_mm`` is installed, then parse every metafile of ``model-index.yml``
(about 80 YAML files, 0.3 s and more) to look ``PATH`` up; the tests
resolve thousands of them. :func:`install` keeps, for this process:

- each YAML file parsed, keyed by its path, size and modification time
  (a file that changes is parsed again);
- that a package is installed, once found installed (a package not found
  is looked for again each time).

What the configs resolve to does not change.
"""
import os

import mmengine.config.config as mm_config
import mmengine.config.utils as mm_config_utils

_parsed = {}
_installed = set()


def _load(path, *args, **kwargs):
    """``mmengine.fileio.load`` of a file, parsed once while it is the same
    (the metafile lookup reads what it loads, never changes it)."""
    if args or kwargs or not isinstance(path, str):
        return _real_load(path, *args, **kwargs)
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _parsed:
        _parsed[key] = _real_load(path)
    return _parsed[key]


def _is_installed(package: str) -> bool:
    if package not in _installed and _real_is_installed(package):
        _installed.add(package)
    return package in _installed


_real_load = mm_config_utils.load
_real_is_installed = mm_config.is_installed


def install() -> None:
    """Use the caches in MMEngine's config loading (idempotent)."""
    mm_config_utils.load = _load
    mm_config.is_installed = _is_installed
