"""Weights-only loading for MMEngine's checkpoint loaders, whatever the
environment says (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``).
"""
import contextlib
import functools
import os
import os.path as osp
import pickle
from typing import Callable, Iterator

from mmengine.runner.checkpoint import CheckpointLoader

from xerm_mm.utils.checkpoint import checkpoint_safe_globals
from xerm_mm.utils.checkpoint_checks import (read_checkpoint,
                                             refused_objects_error)

FORCE = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'
FORCE_NO = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


@contextlib.contextmanager
def forced_weights_only() -> Iterator[None]:
    """Make every ``torch.load`` of the block weights-only, even one that
    passes ``weights_only=False``, with the types of
    :func:`~xerm_mm.utils.checkpoint.checkpoint_safe_globals` allowed.

    torch reads ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` at each load; the
    environment is restored afterwards (loads of other threads meanwhile
    are weights-only too).
    """
    saved = {name: os.environ.get(name) for name in (FORCE, FORCE_NO)}
    os.environ.pop(FORCE_NO, None)
    os.environ[FORCE] = '1'
    try:
        with checkpoint_safe_globals():
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_from_local(filename: str, map_location=None) -> dict:
    """MMEngine's local loader, weights-only through ``read_checkpoint``."""
    return read_checkpoint(osp.expanduser(filename), map_location)


def _weights_only(loader: Callable, prefix: str) -> Callable:
    """``loader`` made weights-only: the local one replaced by
    :func:`load_from_local`, another run under :func:`forced_weights_only`
    (a file holding other objects is refused with its name)."""

    @functools.wraps(loader)
    def load(filename, map_location=None, *args, **kwargs):
        if prefix == '':
            return load_from_local(filename, map_location)
        try:
            with forced_weights_only():
                return loader(filename, map_location, *args, **kwargs)
        except pickle.UnpicklingError as error:
            refused = refused_objects_error(filename, error)
            if refused is None:
                raise
            raise refused from error

    load.weights_only = True
    return load


def install_weights_only_loaders() -> None:
    """Register a weights-only loader over each scheme of MMEngine's
    ``CheckpointLoader`` (call again after another package registers one;
    schemes already weights-only are left as they are)."""
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if not getattr(loader, 'weights_only', False):
            CheckpointLoader.register_scheme(
                prefix, _weights_only(loader, prefix), force=True)
