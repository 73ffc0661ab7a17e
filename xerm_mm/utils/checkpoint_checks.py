"""Checks of a checkpoint before its weights are used.

* :func:`read_checkpoint`: ``torch.load`` (weights-only) with errors that name
  the file: missing, empty, truncated or not a checkpoint;
* :func:`non_finite_keys` / :func:`check_finite`: the tensors holding NaN or
  inf (a diverged training);
* :func:`state_dict_mismatches` / :func:`check_state_dict_fits`: every key and
  shape of a state dict against a model's (another number of classes,
  another backbone, another config).

Buffers that the project fills later (:data:`UNSET_BUFFERS`: PCHead's
``log_prior_train``, NaN until the training class counts are set, absent from
an XE checkpoint) are left out of both checks.
"""
import os.path as osp
import pickle
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn

from xerm_mm.utils.checkpoint import checkpoint_safe_globals

# Buffers a checkpoint may lack, and that may be NaN (= not set yet).
UNSET_BUFFERS = ('log_prior_train', )
# How many keys an error message lists of each kind.
MAX_LISTED = 10


class CheckpointFileError(RuntimeError):
    """A checkpoint file that cannot be read (empty, truncated, not one)."""


class NonFiniteWeightsError(RuntimeError):
    """Weights holding NaN or inf."""


class CheckpointMismatchError(RuntimeError):
    """A state dict whose keys or shapes are not the model's."""


def _listed(items: List[str]) -> str:
    shown = ', '.join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f' (and {more} more)' if more > 0 else '')


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """Load the checkpoint file ``path`` weights-only.

    Raises:
        FileNotFoundError: No file at ``path``.
        CheckpointFileError: The file is empty, truncated or not a torch
            checkpoint.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} not found')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointFileError(
            f'checkpoint {path!r} is empty (0 bytes): its writing was cut '
            'off (a kill, a full disk). Use another checkpoint (an earlier '
            'epoch) or train again.')
    try:
        with checkpoint_safe_globals():
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'weights only load failed' in str(error).lower():
            raise  # a complete file holding objects refused on purpose
        raise _unreadable(path, size, error) from error
    except Exception as error:  # EOFError, OSError, struct.error, ...
        raise _unreadable(path, size, error) from error


def _unreadable(path: str, size: int, error: Exception) -> CheckpointFileError:
    detail = str(error).splitlines()[0] if str(error) else 'no detail'
    return CheckpointFileError(
        f'checkpoint {path!r} ({size} bytes) is truncated or not a torch '
        f'checkpoint ({type(error).__name__}: {detail}). Its writing was '
        'probably cut off (a kill, a full disk): use another checkpoint or '
        'train again.')


def state_dict_of(checkpoint: Mapping) -> Mapping:
    """The model weights of a checkpoint (``state_dict`` or the whole)."""
    return checkpoint.get('state_dict', checkpoint)


def _settable_later(key: str) -> bool:
    return key.rsplit('.', 1)[-1] in UNSET_BUFFERS


def _checked_tensors(state_dict: Mapping):
    for key, value in state_dict.items():
        if (isinstance(value, torch.Tensor) and value.is_floating_point()
                and not _settable_later(key)):
            yield key, value


def all_finite(state_dict: Mapping) -> bool:
    """Whether every floating-point tensor is finite (one device sync)."""
    flags = [torch.isfinite(v).all() for _, v in _checked_tensors(state_dict)]
    return bool(torch.stack(flags).all()) if flags else True


def non_finite_keys(state_dict: Mapping) -> List[str]:
    """The keys of the floating-point tensors that hold NaN or inf."""
    if all_finite(state_dict):
        return []
    return [
        key for key, value in _checked_tensors(state_dict)
        if not torch.isfinite(value).all()
    ]


def check_finite(state_dict: Mapping, source: str) -> None:
    """Raise if a tensor of ``state_dict`` holds NaN or inf.

    Args:
        state_dict: The weights.
        source (str): What they are (a file name), for the message.

    Raises:
        NonFiniteWeightsError: naming ``source`` and the first bad keys.
    """
    bad = non_finite_keys(state_dict)
    if bad:
        raise NonFiniteWeightsError(
            f'{source} holds NaN/inf weights in {len(bad)} tensor(s): '
            f'{_listed(bad)}. The training that wrote it diverged; use a '
            'checkpoint from before the divergence or train again (lower '
            'the learning rate, train without --amp, check the data).')


def state_dict_mismatches(
        model: nn.Module, state_dict: Mapping,
        revise_keys=((r'^module\.', ''), )) -> Tuple[List, List, List]:
    """Compare a state dict with ``model.state_dict()``.

    Args:
        model: The model (unwrapped).
        state_dict: The weights, keys revised by ``revise_keys`` (pattern,
            replacement) as MMEngine's loader does.

    Returns:
        (missing keys, unexpected keys, shape mismatches as
        ``'key: checkpoint (a, b) vs model (c, d)'``). BatchNorm's
        ``num_batches_tracked`` and :data:`UNSET_BUFFERS` may be missing.
    """
    revised: Dict[str, object] = {}
    for key, value in state_dict.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    expected = model.state_dict()
    missing = [
        key for key in expected if key not in revised
        and not key.endswith('num_batches_tracked')
        and not _settable_later(key)
    ]
    unexpected = [key for key in revised if key not in expected]
    shapes = [
        f'{key}: checkpoint {tuple(value.shape)} vs model '
        f'{tuple(expected[key].shape)}' for key, value in revised.items()
        if key in expected and isinstance(value, torch.Tensor)
        and value.shape != expected[key].shape
    ]
    return missing, unexpected, shapes


def check_state_dict_fits(model: nn.Module,
                          state_dict: Mapping,
                          source: str,
                          opt_out: Optional[str] = None,
                          revise_keys=((r'^module\.', ''), )) -> None:
    """Raise unless every key and shape of ``state_dict`` is the model's.

    Args:
        model: The model (unwrapped).
        state_dict: The weights.
        source (str): What they are (a file name), for the message.
        opt_out (str, optional): How to load anyway, for the message.

    Raises:
        CheckpointMismatchError: listing the missing and unexpected keys and
            the shape mismatches, with a hint.
    """
    missing, unexpected, shapes = state_dict_mismatches(
        model, state_dict, revise_keys)
    if not (missing or unexpected or shapes):
        return
    parts = []
    if shapes:
        parts.append(f'shape mismatches: {_listed(shapes)}')
    if missing:
        parts.append(f'missing keys: {_listed(missing)}')
    if unexpected:
        parts.append(f'unexpected keys: {_listed(unexpected)}')
    message = (f'{source} does not fit the model of the config; ' +
               '; '.join(parts) + '. Was it trained with another config '
               '(another num_classes, another backbone or head)? Give the '
               'config it was trained with.')
    if opt_out:
        message += f' To load the matching part only: {opt_out}.'
    raise CheckpointMismatchError(message)
