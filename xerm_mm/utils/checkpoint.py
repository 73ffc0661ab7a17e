"""Loading MMEngine checkpoints under torch's weights-only unpickler.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it only
rebuilds tensors and plain containers, plus the types on an allowlist. A
checkpoint written by MMEngine's Runner also holds its ``MessageHub`` (logging
buffers of numpy arrays), which that unpickler refuses, so ``--resume`` and
``load_from`` fail on the project's own files.

The fix is narrow on both sides:

* on save, :class:`PortableHistoryBuffer` replaces MMEngine's
  ``HistoryBuffer`` in the message hub state: the same data, without the
  function references (``getattr`` calls) that ``HistoryBuffer`` pickles;
* on load, :func:`checkpoint_safe_globals` allows, for the duration of one
  load only, that class and the numpy types a message hub holds. Weights-only
  loading stays on, for our files and for files from elsewhere (pretrained
  weights), and nothing is added to torch's process-wide allowlist.
"""
import contextlib
from typing import Iterator

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


class PortableHistoryBuffer(HistoryBuffer):
    """A :class:`HistoryBuffer` that pickles as data only."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        return state

    def __setstate__(self, state: dict) -> None:
        # In a resumed process no buffer may have run __init__ yet.
        self._set_default_statistics()
        self.__dict__.update(state)

    @classmethod
    def from_buffer(cls, buffer: HistoryBuffer) -> 'PortableHistoryBuffer':
        portable = cls.__new__(cls)
        portable.__dict__.update(
            {k: v
             for k, v in buffer.__dict__.items()
             if k != 'statistics_methods'})
        return portable


def make_message_hub_portable(checkpoint: dict) -> None:
    """Swap the message hub's buffers of a checkpoint dict for portable ones."""
    scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
    for key, value in scalars.items():
        if type(value) is HistoryBuffer:
            scalars[key] = PortableHistoryBuffer.from_buffer(value)


def _numpy_globals() -> list:
    multiarray = getattr(np, '_core', None) or np.core
    types = [
        multiarray.multiarray._reconstruct, multiarray.multiarray.scalar,
        np.ndarray, np.dtype
    ]
    # numpy >= 1.25 pickles a dtype through its class in numpy.dtypes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return types


@contextlib.contextmanager
def checkpoint_safe_globals() -> Iterator[None]:
    """Allow the data types of MMEngine checkpoints during one load.

    Example:
        >>> with checkpoint_safe_globals():
        ...     ckpt = torch.load('epoch_1.pth', map_location='cpu')
    """
    with torch.serialization.safe_globals([PortableHistoryBuffer] +
                                          _numpy_globals()):
        yield
