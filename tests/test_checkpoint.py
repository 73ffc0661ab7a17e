import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from xerm_mm.utils.checkpoint import (PortableHistoryBuffer,
                                      checkpoint_safe_globals,
                                      make_message_hub_portable)


def _runner_like_checkpoint():
    buffer = HistoryBuffer()
    for value in (1.0, 2.0, 3.0):
        buffer.update(value)
    return dict(
        meta=dict(epoch=1, seed=np.int64(3), dataset_meta=dict(c=(1, 2))),
        state_dict=dict(w=torch.ones(2)),
        message_hub=dict(
            log_scalars=dict(loss=buffer),
            runtime_info=dict(lr=np.float64(0.1)),
            resumed_keys=dict(loss=True)))


def test_own_checkpoint_loads_weights_only(tmp_path):
    ckpt = _runner_like_checkpoint()
    make_message_hub_portable(ckpt)
    path = tmp_path / 'epoch_1.pth'
    torch.save(ckpt, path)
    with checkpoint_safe_globals():
        loaded = torch.load(path, map_location='cpu')  # weights_only default
    buffer = loaded['message_hub']['log_scalars']['loss']
    assert isinstance(buffer, HistoryBuffer)
    assert isinstance(buffer, PortableHistoryBuffer)
    assert buffer.mean() == pytest.approx(2.0)
    assert buffer.current() == 3.0
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_protection_stays_on_outside_the_context(tmp_path):
    ckpt = _runner_like_checkpoint()
    make_message_hub_portable(ckpt)
    torch.save(ckpt, tmp_path / 'a.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'a.pth')


def test_unmodified_mmengine_buffer_is_refused(tmp_path):
    """MMEngine's own HistoryBuffer pickles function references: refused."""
    torch.save(_runner_like_checkpoint(), tmp_path / 'raw.pth')
    with checkpoint_safe_globals(), pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'raw.pth')


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_foreign_file_with_code_is_refused_even_inside(tmp_path):
    torch.save(dict(state_dict={}, payload=_Evil()), tmp_path / 'evil.pth')
    with checkpoint_safe_globals(), pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'evil.pth')


def test_buffer_statistics_work_in_a_fresh_process(tmp_path, monkeypatch):
    """A resumed process may load buffers before any HistoryBuffer ran
    __init__ (which registers the statistics methods)."""
    ckpt = _runner_like_checkpoint()
    make_message_hub_portable(ckpt)
    torch.save(ckpt, tmp_path / 'epoch_1.pth')
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    with checkpoint_safe_globals():
        loaded = torch.load(tmp_path / 'epoch_1.pth')
    assert loaded['message_hub']['log_scalars']['loss'].statistics(
        'mean') == pytest.approx(2.0)
