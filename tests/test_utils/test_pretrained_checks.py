"""xerm_mm.utils.pretrained_checks: a local Pretrained file that is not a
checkpoint is named, with its config key, before any dataset is built."""
import pytest
import torch

from xerm_mm.utils.checkpoint_checks import CheckpointFileError
from xerm_mm.utils.pretrained_checks import check_pretrained_files

KEY = 'model.backbone.init_cfg.checkpoint'


def _model(path):
    return dict(backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=str(path))))


@pytest.mark.parametrize('data,what', [
    (b'<html><body>502 Bad Gateway</body></html>', 'is not a checkpoint'),
    (b'PK\x03\x04' + b'\0' * 100, 'is truncated'),
])
def test_a_file_that_is_not_a_checkpoint_is_named_with_its_key(
        tmp_path, data, what):
    path = tmp_path / 'resnet50.pth'
    path.write_bytes(data)
    # Before: only an empty file was refused here; this one failed when the
    # weights were initialised, after the datasets were built.
    with pytest.raises(CheckpointFileError) as error:
        check_pretrained_files(_model(path))
    message = str(error.value)
    assert KEY in message and str(path) in message and what in message
    assert f'--cfg-options {KEY}=PATH' in message


def test_a_checkpoint_passes_without_being_loaded(tmp_path):
    path = tmp_path / 'resnet50.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1))), path)
    check_pretrained_files(_model(path))
