"""Tests of the dataloader defaults that our tools fill in."""
import pytest
import torch
from mmengine.config import Config

from xerm_mm.utils import dataloader_defaults
from xerm_mm.utils.dataloader_defaults import (can_pin_memory,
                                               set_dataloader_defaults)

PIN_WARNING = "'pin_memory' argument is set as true"


def _cfg():
    return Config(dict(
        train_dataloader=dict(batch_size=2, num_workers=2),
        val_dataloader=dict(batch_size=2, pin_memory=True),
        test_dataloader=dict(batch_size=2, pin_memory=False)))


def test_pin_memory_only_where_pinning_has_an_effect(monkeypatch):
    # Without an accelerator PyTorch pins nothing and warns at every
    # iterator: the tools leave pinning off, whatever the config says.
    monkeypatch.setattr(dataloader_defaults, 'can_pin_memory', lambda: False)
    cfg = _cfg()
    set_dataloader_defaults(cfg)
    assert [cfg[key].pin_memory for key in dataloader_defaults.
            DATALOADER_KEYS] == [False, False, False]
    # With one (a GPU): mmpretrain's default, the config's value kept.
    monkeypatch.setattr(dataloader_defaults, 'can_pin_memory', lambda: True)
    cfg = _cfg()
    set_dataloader_defaults(cfg)
    assert [cfg[key].pin_memory for key in dataloader_defaults.
            DATALOADER_KEYS] == [True, True, False]
    cfg = _cfg()
    set_dataloader_defaults(cfg, pin_memory=False)  # --no-pin-memory
    assert not any(cfg[key].pin_memory
                   for key in dataloader_defaults.DATALOADER_KEYS)


def test_can_pin_memory_follows_pytorch():
    assert can_pin_memory() == (torch.accelerator.is_available() and
                                torch.accelerator.current_accelerator().type
                                != 'mps')


@pytest.mark.skipif(torch.accelerator.is_available(),
                    reason='pinning has an effect here')
def test_a_cpu_training_run_prints_no_pin_memory_warning(xe_run):
    _, _, log = xe_run
    assert 'Epoch(train)' in log
    assert PIN_WARNING not in log
