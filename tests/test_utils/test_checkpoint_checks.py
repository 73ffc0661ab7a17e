"""xerm_mm.utils.checkpoint_checks: files that are not checkpoints, and the
non-finite check of the buffers that are set later (PCHead's prior)."""
import os
import pickle
import zipfile

import pytest
import torch

from xerm_mm.utils.checkpoint_checks import (CheckpointFileError,
                                             NonFiniteWeightsError,
                                             check_finite, non_finite_keys,
                                             read_checkpoint)


def _weights(prior):
    return {'head.fc.weight': torch.ones(3, 2),
            'head.log_prior_train': torch.tensor(prior)}


@pytest.mark.parametrize('data', [
    os.urandom(4096),
    b'<html><body>404 Not Found</body></html>\n' * 10,
    b'hello',
])
def test_bytes_that_are_not_a_checkpoint_are_named(tmp_path, data):
    path = tmp_path / 'weights.pth'
    path.write_bytes(data)
    # Before: torch's "Weights only load failed ... Re-running torch.load
    # with weights_only set to False will likely succeed", or a KeyError.
    with pytest.raises(CheckpointFileError) as error:
        read_checkpoint(str(path))
    message = str(error.value)
    assert str(path) in message
    assert 'not a checkpoint' in message
    assert 'weights_only' not in message


def test_a_checkpoint_cut_short_is_truncated(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000))), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, 10):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointFileError, match='is truncated'):
            read_checkpoint(str(path))


def test_a_zip_that_is_not_a_checkpoint_is_named(tmp_path):
    path = tmp_path / 'ckpt.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('readme.txt', 'hello')
    with pytest.raises(CheckpointFileError, match='not a checkpoint'):
        read_checkpoint(str(path))


class _Payload:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


def test_objects_that_would_run_code_are_refused_with_the_file_named(
        tmp_path):
    path = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict={}, payload=_Payload()), path)
    with pytest.raises(CheckpointFileError) as error:
        read_checkpoint(str(path))
    message = str(error.value)
    assert str(path) in message and 'system' in message
    assert 'weights_only=False' not in message
    raw = tmp_path / 'raw.pkl'
    raw.write_bytes(pickle.dumps(_Payload(), protocol=2))
    with pytest.raises(CheckpointFileError, match=str(raw)):
        read_checkpoint(str(raw))


def test_a_plain_checkpoint_still_reads(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(2))), path)
    assert torch.equal(read_checkpoint(str(path))['state_dict']['w'],
                       torch.ones(2))


def test_an_inf_prior_is_not_taken_for_an_unset_one():
    # Before: log_prior_train was exempt, so inf passed and every test
    # prediction was class 0.
    weights = _weights([-1.0, float('inf'), -2.0])
    assert non_finite_keys(weights) == ['head.log_prior_train']
    with pytest.raises(NonFiniteWeightsError, match='head.log_prior_train'):
        check_finite(weights, "checkpoint 'x.pth'")


def test_a_partly_nan_prior_is_refused():
    weights = _weights([-1.0, float('nan'), -2.0])
    assert non_finite_keys(weights) == ['head.log_prior_train']


def test_an_unset_or_set_prior_passes():
    assert non_finite_keys(_weights([float('nan')] * 3)) == []
    assert non_finite_keys(_weights([-1.0, -1.5, -2.0])) == []
    assert non_finite_keys({'loss_module.log_prior_train': torch.empty(0)
                            }) == []


def test_the_advice_can_be_the_callers():
    weights = {'w': torch.tensor([float('nan')])}
    with pytest.raises(NonFiniteWeightsError) as error:
        check_finite(weights, 'teacher', advice='Train the teacher again.')
    assert str(error.value).endswith('Train the teacher again.')
    assert '--amp' not in str(error.value)
