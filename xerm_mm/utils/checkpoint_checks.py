"""Checks of a checkpoint before its weights are used: the file, NaN/inf and
keys / shapes against the model, each error naming the file.
"""
from __future__ import annotations

import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, List, Mapping, Optional, Tuple

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a tensor is read: checking a
    import torch  # file's first bytes (pretrained_checks) needs none
    import torch.nn as nn

# Buffers a checkpoint may lack, and that may be all NaN (= not set yet).
UNSET_BUFFERS = ('log_prior_train', )
# The first bytes of torch.save's files: a zip archive (torch >= 1.6), or
# the legacy format (a pickle protocol 2 stream of torch's magic number).
ZIP_MAGIC = b'PK\x03\x04'
LEGACY_MAGIC = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
# The advice of check_finite when the caller gives none.
DIVERGED_ADVICE = ('The training that wrote it diverged; use a checkpoint '
                   'from before the divergence or train again (lower the '
                   'learning rate, train without --amp, check the data).')
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


def check_checkpoint_file(path: str) -> bytes:
    """Check, without loading it, that ``path`` looks like a checkpoint.

    Returns:
        bytes: The first bytes of the file.

    Raises:
        FileNotFoundError: No file at ``path``.
        CheckpointFileError: The file is empty, a zip archive whose end is
            missing (truncated), or not a torch checkpoint (neither
            torch.save's zip archive nor a pickle stream).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} not found')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointFileError(
            f'checkpoint {path!r} is empty (0 bytes): its writing was cut '
            'off (a kill, a full disk). Use another checkpoint (an earlier '
            'epoch) or train again.')
    with open(path, 'rb') as f:
        head = f.read(len(LEGACY_MAGIC))
    if head.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise _truncated(path, size, 'the end of its zip archive is '
                             'missing')
        if not _has_torch_data(path):
            raise _not_a_checkpoint(
                path, size, 'a zip archive without the data.pkl of '
                'torch.save')
    elif not head.startswith(b'\x80'):  # not a pickle stream either
        raise _not_a_checkpoint(path, size, f'it begins with {head!r}')
    return head


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """Load the checkpoint file ``path`` weights-only.

    ``weights_only=True`` is passed explicitly, so no environment setting
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) turns on full unpickling.

    Raises:
        FileNotFoundError: No file at ``path``.
        CheckpointFileError: The file is empty, truncated or damaged, not a
            torch checkpoint, or holds objects that only full unpickling
            (which can run code) would load.
    """
    import torch

    from xerm_mm.utils.checkpoint import checkpoint_safe_globals
    head = check_checkpoint_file(path)
    size = osp.getsize(path)
    try:
        with checkpoint_safe_globals():
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except Exception as error:  # UnpicklingError, EOFError, OSError, ...
        refused = refused_objects_error(path, error)
        if refused is not None:
            raise refused from error
        if head.startswith((ZIP_MAGIC, LEGACY_MAGIC)):
            raise _truncated(path, size, _first_line(error)) from error
        raise _not_a_checkpoint(
            path, size, 'a pickle file that torch.save did not write '
            f'({_first_line(error)})') from error


def _has_torch_data(path: str) -> bool:
    """Whether a zip archive holds torch.save's ``<name>/data.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return True  # let torch.load report what it finds
    return any(name.rsplit('/', 1)[-1] == 'data.pkl' for name in names)


def _first_line(error: Exception) -> str:
    detail = str(error).strip().splitlines()
    return f'{type(error).__name__}: {detail[0] if detail else "no detail"}'


def _truncated(path: str, size: int, detail: str) -> CheckpointFileError:
    return CheckpointFileError(
        f'checkpoint {path!r} ({size} bytes) is truncated or damaged '
        f'({detail}). Its writing was probably cut off (a kill, a full '
        'disk): use another checkpoint or train again.')


def _not_a_checkpoint(path: str, size: int,
                      detail: str) -> CheckpointFileError:
    return CheckpointFileError(
        f'{path!r} ({size} bytes) is not a checkpoint: {detail}. Give a '
        'file written by torch.save (tools/train.py writes '
        'WORK_DIR/epoch_N.pth); a download that failed may have saved an '
        'error page under the name.')


def refused_objects_error(path: str,
                          error: Exception) -> Optional[CheckpointFileError]:
    """The error naming ``path`` if weights-only loading refused an object
    of it (``error`` names the refused global), else None."""
    refused = re.search(r'GLOBAL ([\w.]+)', str(error))
    if refused is None:
        return None
    return CheckpointFileError(
        f'checkpoint {path!r} holds Python objects ({refused.group(1)}) '
        'that only full unpickling would load, and full unpickling can run '
        "any code the file holds, so it is not loaded. This project's tools "
        'write plain data (tensors, numbers, strings, lists, dicts); a file '
        'of another tool that you trust: save its state_dict alone with '
        'that tool.')


def state_dict_of(checkpoint: Mapping) -> Mapping:
    """The model weights of a checkpoint (``state_dict`` or the whole)."""
    return checkpoint.get('state_dict', checkpoint)


def _settable_later(key: str) -> bool:
    return key.rsplit('.', 1)[-1] in UNSET_BUFFERS


def _checked_tensors(state_dict: Mapping):
    import torch
    for key, value in state_dict.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            yield key, value


def _fine(key: str, value: torch.Tensor) -> torch.Tensor:
    """Finite, or (a buffer set later) all NaN: a 0-d bool tensor."""
    import torch
    finite = torch.isfinite(value).all()
    if _settable_later(key):
        return finite | torch.isnan(value).all()
    return finite


def all_finite(state_dict: Mapping) -> bool:
    """Whether every floating-point tensor is finite (one device sync);
    a buffer of :data:`UNSET_BUFFERS` may instead be all NaN (not set)."""
    import torch
    flags = [_fine(k, v) for k, v in _checked_tensors(state_dict)]
    return bool(torch.stack(flags).all()) if flags else True


def non_finite_keys(state_dict: Mapping) -> List[str]:
    """The keys of the floating-point tensors that hold NaN or inf (a
    buffer of :data:`UNSET_BUFFERS`: NaN or inf, unless all NaN)."""
    if all_finite(state_dict):
        return []
    return [
        key for key, value in _checked_tensors(state_dict)
        if not _fine(key, value)
    ]


def check_finite(state_dict: Mapping,
                 source: str,
                 advice: Optional[str] = None) -> None:
    """Raise if a tensor of ``state_dict`` holds NaN or inf.

    Args:
        state_dict: The weights.
        source (str): What they are (a file name), for the message.
        advice (str, optional): What to do, for the message. Defaults to
            :data:`DIVERGED_ADVICE`.

    Raises:
        NonFiniteWeightsError: naming ``source`` and the first bad keys.
    """
    bad = non_finite_keys(state_dict)
    if bad:
        raise NonFiniteWeightsError(
            f'{source} holds NaN/inf weights in {len(bad)} tensor(s): '
            f'{_listed(bad)}. {advice or DIVERGED_ADVICE}')


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
    import torch
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
