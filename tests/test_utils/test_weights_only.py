"""xerm_mm.utils.weights_only: every checkpoint load is weights-only, whatever
the environment (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``) or the loader
(torch.hub's ``weights_only=False`` for URLs).

The payload of each file makes a folder when it is unpickled in full.
"""
import os
import os.path as osp
import runpy

import pytest
import torch
import torch.nn as nn
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader

from xerm_mm.utils import register_all_modules
from xerm_mm.utils.checkpoint_checks import CheckpointFileError
from xerm_mm.utils.weights_only import (forced_weights_only,
                                        install_weights_only_loaders)

# As every tool does (xerm_mm.engine installs the loaders).
register_all_modules(init_default_scope=False)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PUBLISH_MODEL = osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py')
URL = 'https://download.invalid/weights/{}'


class _Payload:

    def __init__(self, folder):
        self.folder = folder

    def __reduce__(self):
        return (os.makedirs, (self.folder, ))


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """(checkpoint that runs code when fully unpickled, its marker)."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=dict(weight=torch.ones(2, 2)),
                    meta=_Payload(marker)), path)
    return path, marker


def _plain(path):
    torch.save(dict(state_dict=dict(weight=torch.full((2, 2), 3.))), path)
    return path


def test_publish_model_refuses_a_payload(payload, tmp_path):
    path, marker = payload
    publish = runpy.run_path(PUBLISH_MODEL)['main']
    # Before: the payload ran (torch.load without weights_only).
    with pytest.raises(CheckpointFileError, match=path):
        publish([path, str(tmp_path / 'out.pth')])
    assert not osp.exists(marker)


def test_pretrained_init_refuses_a_local_payload(payload):
    path, marker = payload
    # Before: MMEngine's local loader (torch.load without weights_only) ran
    # the payload.
    with pytest.raises(CheckpointFileError, match=path):
        PretrainedInit(checkpoint=path)(nn.Linear(2, 2))
    assert not osp.exists(marker)


def test_pretrained_init_refuses_a_payload_from_a_url(payload, tmp_path,
                                                      monkeypatch):
    path, marker = payload
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    # torch.hub finds the file in its cache: nothing is downloaded.
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    os.replace(path, cache / 'evil.pth')
    # Before: torch.hub.load_state_dict_from_url loads weights_only=False.
    with pytest.raises(CheckpointFileError, match='evil.pth'):
        PretrainedInit(checkpoint=URL.format('evil.pth'))(nn.Linear(2, 2))
    assert not osp.exists(marker)
    _plain(str(cache / 'plain.pth'))
    layer = nn.Linear(2, 2, bias=False)
    PretrainedInit(checkpoint=URL.format('plain.pth'))(layer)
    assert torch.equal(layer.weight, torch.full((2, 2), 3.))


def test_plain_checkpoints_still_load(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    layer = nn.Linear(2, 2, bias=False)
    PretrainedInit(checkpoint=_plain(str(tmp_path / 'w.pth')))(layer)
    assert torch.equal(layer.weight, torch.full((2, 2), 3.))


def test_every_scheme_is_weights_only_and_installing_twice_is_harmless():
    install_weights_only_loaders()
    install_weights_only_loaders()
    for prefix, loader in CheckpointLoader._schemes.items():
        assert getattr(loader, 'weights_only', False), prefix
        assert not getattr(loader.__wrapped__, 'weights_only', False), prefix


def test_forced_weights_only_restores_the_environment(monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    monkeypatch.delenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', raising=False)
    with forced_weights_only():
        assert os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] == '1'
        assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    assert os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] == '1'
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ
