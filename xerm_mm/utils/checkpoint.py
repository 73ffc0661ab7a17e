"""Checkpoints that torch's weights-only unpickler loads with no allowlist.

The Runner's message hub is saved as plain data and restored on load
(docs/get_started.md, "Checkpoints under torch >= 2.6").
"""
import contextlib
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any, Iterator

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# Values torch.load(weights_only=True) rebuilds as they are.
_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes,
                  torch.Size, torch.device, torch.dtype)
# The keys of a logging buffer stored by buffer_to_plain.
_BUFFER_KEYS = ('log_history', 'count_history', 'max_length')


def to_plain(value: Any, where: str = 'value') -> Any:
    """Return ``value`` as data that ``torch.load(weights_only=True)`` loads.

    numpy scalars become Python scalars, numeric numpy arrays tensors of the
    same dtype; mappings, lists, tuples and sets are converted item by item
    (a mapping becomes a dict, or an OrderedDict if it was one; a deque a
    list; a frozenset a set).

    Args:
        value: The value to convert.
        where (str): Where the value is, for the error message.

    Raises:
        TypeError: ``value`` holds an object of another kind (it would make
            the whole checkpoint unloadable without an allowlist).
    """
    if isinstance(value, np.generic):  # before float: np.float64 is one
        return value.item()
    if isinstance(value, (torch.Tensor, ) + _PLAIN_SCALARS):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in 'biufc':
            return torch.from_numpy(np.array(value))
        return to_plain(value.tolist(), where)
    if isinstance(value, Mapping):
        plain = OrderedDict() if isinstance(value, OrderedDict) else {}
        for key, item in value.items():
            plain[to_plain(key, f'a key of {where}')] = to_plain(
                item, f'{where}[{key!r}]')
        return plain
    if isinstance(value, (list, tuple, set, frozenset, deque)):
        items = [
            to_plain(item, f'{where}[{i}]') for i, item in enumerate(value)
        ]
        if isinstance(value, tuple):
            return tuple(items)
        return set(items) if isinstance(value, (set, frozenset)) else items
    raise TypeError(
        f'{where} is a {type(value).__module__}.{type(value).__qualname__}, '
        'which torch.load(weights_only=True) refuses, so no tool could load '
        'the checkpoint. Store plain data there (numbers, strings, tensors, '
        'lists, tuples, dicts).')


def buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """A logging buffer as a dict of two tensors and its maximum length."""
    log_history, count_history = buffer.data
    return dict(
        log_history=torch.from_numpy(np.array(log_history)),
        count_history=torch.from_numpy(np.array(count_history)),
        max_length=int(buffer.max_length))


def buffer_from_plain(plain: dict, where: str = 'buffer') -> HistoryBuffer:
    """The :class:`HistoryBuffer` that :func:`buffer_to_plain` stored."""
    if set(plain) != set(_BUFFER_KEYS):
        raise KeyError(f'{where} has the keys {sorted(plain)}; a logging '
                       f'buffer stored as plain data has {list(_BUFFER_KEYS)}')
    return HistoryBuffer(
        log_history=np.asarray(plain['log_history']),
        count_history=np.asarray(plain['count_history']),
        max_length=plain['max_length'])


def make_checkpoint_plain(checkpoint: dict) -> None:
    """Make ``meta`` and ``message_hub`` of a Runner checkpoint plain data.

    The model, optimizer and scheduler states are left as they are (tensors
    and plain containers already).
    """
    hub = checkpoint.get('message_hub')
    if hub is not None:
        scalars = hub.get('log_scalars', {})
        for key, value in scalars.items():
            if isinstance(value, HistoryBuffer):
                scalars[key] = buffer_to_plain(value)
        checkpoint['message_hub'] = to_plain(hub, "checkpoint['message_hub']")
    if 'meta' in checkpoint:
        checkpoint['meta'] = to_plain(checkpoint['meta'], "checkpoint['meta']")


def restore_message_hub(checkpoint: dict) -> None:
    """Turn the plain logging buffers of a checkpoint back into buffers.

    Buffers that are :class:`HistoryBuffer` objects already (files written
    before, with :class:`PortableHistoryBuffer`) are left as they are.
    """
    scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
    for key, value in scalars.items():
        if isinstance(value, Mapping):
            scalars[key] = buffer_from_plain(
                value, f"checkpoint['message_hub']['log_scalars'][{key!r}]")


class PortableHistoryBuffer(HistoryBuffer):
    """The logging buffer of earlier checkpoints (loaded through
    :func:`checkpoint_safe_globals`, no longer written).
    """

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
    """Allow, during one load, the types of checkpoints written before.

    Plain checkpoints do not need it; weights-only loading stays on, and
    nothing is added to torch's process-wide allowlist.

    Example:
        >>> with checkpoint_safe_globals():
        ...     ckpt = torch.load('old_epoch_1.pth', map_location='cpu')
    """
    with torch.serialization.safe_globals([PortableHistoryBuffer] +
                                          _numpy_globals()):
        yield
