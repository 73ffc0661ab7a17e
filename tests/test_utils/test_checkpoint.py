import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from xerm_mm.utils.checkpoint import (PortableHistoryBuffer,
                                      checkpoint_safe_globals,
                                      make_checkpoint_plain,
                                      restore_message_hub, to_plain)


def _runner_like_checkpoint():
    """What MMEngine's Runner.save_checkpoint hands to the hooks."""
    hub = MessageHub.get_instance('test_checkpoint')
    for value in (1.0, 2.0, 3.0):
        hub.update_scalar('loss', value)
    hub.update_scalar('acc', 0.5, count=4)
    hub.update_info('eta', np.float64(12.5))
    hub.update_info('counts', np.array([3, 2, 1]))
    return dict(
        meta=dict(epoch=1, seed=np.int64(3), dataset_meta=dict(c=(1, 2))),
        state_dict=dict(w=torch.ones(2)),
        message_hub=hub.state_dict())


def _legacy_checkpoint():
    """A checkpoint as written before: buffers as PortableHistoryBuffer."""
    ckpt = _runner_like_checkpoint()
    scalars = ckpt['message_hub']['log_scalars']
    for key, value in scalars.items():
        scalars[key] = PortableHistoryBuffer.from_buffer(value)
    return ckpt


def test_plain_checkpoint_loads_weights_only_without_allowlist(tmp_path):
    ckpt = _runner_like_checkpoint()
    expected = {
        key: buffer.data
        for key, buffer in ckpt['message_hub']['log_scalars'].items()
    }
    make_checkpoint_plain(ckpt)
    torch.save(ckpt, tmp_path / 'epoch_1.pth')
    loaded = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert loaded['meta']['seed'] == 3 and type(loaded['meta']['seed']) is int
    assert loaded['meta']['dataset_meta'] == dict(c=(1, 2))
    info = loaded['message_hub']['runtime_info']
    assert type(info['eta']) is float and info['eta'] == 12.5
    assert torch.equal(info['counts'], torch.tensor([3, 2, 1]))

    restore_message_hub(loaded)
    hub = MessageHub.get_instance('test_checkpoint_resumed')
    hub.load_state_dict(loaded['message_hub'])
    for key, (log_history, count_history) in expected.items():
        buffer = hub.log_scalars[key]
        assert type(buffer) is HistoryBuffer
        assert buffer.data[0].dtype == log_history.dtype
        assert buffer.data[1].dtype == count_history.dtype
        np.testing.assert_array_equal(buffer.data[0], log_history)
        np.testing.assert_array_equal(buffer.data[1], count_history)
    assert hub.log_scalars['loss'].mean() == pytest.approx(2.0)
    assert hub.log_scalars['loss'].current() == 3.0
    assert hub.log_scalars['acc'].mean() == pytest.approx(0.5 / 4)


def test_plain_buffers_work_in_a_fresh_process(tmp_path, monkeypatch):
    """A resumed process may restore buffers before any HistoryBuffer ran
    __init__ (which registers the statistics methods)."""
    ckpt = _runner_like_checkpoint()
    make_checkpoint_plain(ckpt)
    torch.save(ckpt, tmp_path / 'epoch_1.pth')
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    loaded = torch.load(tmp_path / 'epoch_1.pth')
    restore_message_hub(loaded)
    assert loaded['message_hub']['log_scalars']['loss'].statistics(
        'mean') == pytest.approx(2.0)


def test_value_that_is_not_plain_data_is_named():
    ckpt = _runner_like_checkpoint()
    ckpt['meta']['hook_state'] = dict(sampler=object())
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\]\['hook_state'"
                       r"\]\['sampler'\] is a builtins.object"):
        make_checkpoint_plain(ckpt)


def test_to_plain_keeps_container_kinds():
    from collections import OrderedDict, deque
    plain = to_plain(
        OrderedDict(a=(np.int32(1), 'x'), b=deque([np.bool_(True)]),
                    c={np.float32(0.5)}))
    assert type(plain) is OrderedDict
    assert plain == OrderedDict(a=(1, 'x'), b=[True], c={0.5})
    assert type(plain['a'][0]) is int and type(plain['b'][0]) is bool
    assert to_plain(np.array(['a', 'b'])) == ['a', 'b']


def test_malformed_plain_buffer_is_named():
    ckpt = dict(message_hub=dict(log_scalars=dict(loss=dict(log_history=1))))
    with pytest.raises(KeyError, match=r"\['log_scalars'\]\['loss'\]"):
        restore_message_hub(ckpt)


def test_legacy_checkpoint_still_loads_for_resume(tmp_path):
    torch.save(_legacy_checkpoint(), tmp_path / 'old.pth')
    with checkpoint_safe_globals():
        loaded = torch.load(tmp_path / 'old.pth', map_location='cpu')
    restore_message_hub(loaded)  # leaves the legacy buffers as they are
    buffer = loaded['message_hub']['log_scalars']['loss']
    assert isinstance(buffer, PortableHistoryBuffer)
    assert buffer.mean() == pytest.approx(2.0)
    assert buffer.current() == 3.0
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_legacy_buffers_work_in_a_fresh_process(tmp_path, monkeypatch):
    torch.save(_legacy_checkpoint(), tmp_path / 'old.pth')
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    with checkpoint_safe_globals():
        loaded = torch.load(tmp_path / 'old.pth')
    assert loaded['message_hub']['log_scalars']['loss'].statistics(
        'mean') == pytest.approx(2.0)


def test_protection_stays_on_outside_the_context(tmp_path):
    torch.save(_legacy_checkpoint(), tmp_path / 'old.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'old.pth')


def test_unmodified_mmengine_buffer_is_refused(tmp_path):
    """MMEngine's own HistoryBuffer pickles function references: refused."""
    torch.save(_runner_like_checkpoint(), tmp_path / 'raw.pth')
    with checkpoint_safe_globals(), pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'raw.pth')


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


def test_foreign_file_with_code_is_refused_even_inside(tmp_path):
    torch.save(dict(state_dict={}, payload=_Evil()), tmp_path / 'evil.pth')
    with checkpoint_safe_globals(), pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'evil.pth')
