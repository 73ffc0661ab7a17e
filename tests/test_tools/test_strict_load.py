"""Strict, checked checkpoint loading (tools/test.py, load_from, --resume).

A checkpoint of another model is refused with the list of mismatches (an
explicit flag loads it anyway), an empty or truncated file with an error
naming it, and ``--out`` / ``--metrics-out`` are checked before the run.
"""
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from inprocess_tool import ROOT, run_main
from xerm_mm.utils.checkpoint_checks import (CheckpointFileError,
                                             CheckpointMismatchError)



@pytest.fixture(scope='module')
def classic_resnet32_ckpt(tmp_path_factory):
    """A checkpoint of the classic ResNet-32 (64-d) with a 10-class head."""
    from xerm_mm.registry import MODELS
    from xerm_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    model_cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/resnet32_linear.py')).model
    model_cfg.head.num_classes = 10
    model = MODELS.build(model_cfg)
    path = str(tmp_path_factory.mktemp('classic') / 'resnet32.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_hundred_class_checkpoint_under_a_ten_class_config(
        xe_run, tmp_path):
    # A checkpoint whose head has 100 classes (another data set's model),
    # tested with the 10-class config of the data.
    checkpoint = torch.load(osp.join(xe_run[1], 'epoch_1.pth'),
                            weights_only=True)
    state = checkpoint['state_dict']
    state['head.fc.weight'] = torch.zeros(100, 128)
    state['head.fc.bias'] = torch.zeros(100)
    ckpt = str(tmp_path / 'hundred_classes.pth')
    torch.save(checkpoint, ckpt)
    # Before: evaluated, exit 0 (only a log line about the state dict).
    with pytest.raises(CheckpointMismatchError) as error:
        run_main('test', xe_run[0], ckpt, '--work-dir', tmp_path)
    message = str(error.value)
    assert ckpt in message
    assert 'head.fc.weight: checkpoint (100, 128) vs model (10, 128)' in (
        message)
    assert 'head.fc.bias: checkpoint (100,) vs model (10,)' in message
    assert 'num_classes' in message and '--no-strict-load' in message


def test_classic_resnet32_checkpoint_under_the_bbn_config(
        xe_run, classic_resnet32_ckpt, tmp_path):
    # Before: evaluated with exit 0.
    with pytest.raises(CheckpointMismatchError) as error:
        run_main('test', xe_run[0], classic_resnet32_ckpt, '--work-dir',
                 tmp_path)
    message = str(error.value)
    assert classic_resnet32_ckpt in message
    assert 'head.fc.weight: checkpoint (10, 64) vs model (10, 128)' in message
    assert 'missing keys: ' in message and 'unexpected keys: ' in message
    assert 'backbone' in message.split('missing keys: ')[1]
    # The explicit opt-out evaluates the matching part, as before.
    metrics, _ = run_main('test', xe_run[0], classic_resnet32_ckpt,
                          '--work-dir', tmp_path, '--test-sets', 'balanced',
                          '--no-strict-load')
    assert 'balanced/lt/top1' in metrics


def test_load_from_is_strict_unless_load_strict_is_false(
        xe_run, classic_resnet32_ckpt, tmp_path):
    config = xe_run[0]
    with pytest.raises(CheckpointMismatchError,
                       match='load_strict=False'):
        run_main('train', config, '--work-dir', tmp_path / 'strict',
                 '--cfg-options', f'load_from={classic_resnet32_ckpt}')
    run_main('train', config, '--work-dir', tmp_path / 'lenient',
             '--no-validate', '--cfg-options',
             f'load_from={classic_resnet32_ckpt}', 'load_strict=False')
    assert osp.isfile(tmp_path / 'lenient' / 'epoch_1.pth')


def _empty_and_truncated(xe_run, folder):
    empty = str(folder / 'empty.pth')
    open(empty, 'wb').close()
    truncated = str(folder / 'truncated.pth')
    with open(osp.join(xe_run[1], 'epoch_1.pth'), 'rb') as f:
        data = f.read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    return empty, truncated


def test_test_tool_names_an_empty_or_truncated_checkpoint(xe_run, tmp_path):
    empty, truncated = _empty_and_truncated(xe_run, tmp_path)
    # Before: a bare EOFError / an unpickling or zip error.
    with pytest.raises(CheckpointFileError, match=f'{empty}.*is empty'):
        run_main('test', xe_run[0], empty, '--work-dir', tmp_path)
    with pytest.raises(CheckpointFileError,
                       match=f'{truncated}.*is truncated'):
        run_main('test', xe_run[0], truncated, '--work-dir', tmp_path)


def test_test_tool_says_garbage_bytes_are_not_a_checkpoint(xe_run, tmp_path):
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(bytes(range(256)) * 64)
    # Before: torch's "Weights only load failed ... Re-running torch.load
    # with weights_only set to False will likely succeed".
    with pytest.raises(CheckpointFileError) as error:
        run_main('test', xe_run[0], garbage, '--work-dir', tmp_path)
    assert f"'{garbage}' (16384 bytes) is not a checkpoint" in str(
        error.value)
    assert 'weights_only' not in str(error.value)


def test_load_from_and_resume_name_an_empty_or_truncated_checkpoint(
        xe_run, tmp_path):
    empty, truncated = _empty_and_truncated(xe_run, tmp_path)
    with pytest.raises(CheckpointFileError, match=f'{empty}.*is empty'):
        run_main('train', xe_run[0], '--work-dir', tmp_path / 'load',
                 '--cfg-options', f'load_from={empty}')
    work = tmp_path / 'resume'
    work.mkdir()
    shutil.copy(truncated, work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    for resume in (['--resume', truncated], ['--resume']):
        with pytest.raises(CheckpointFileError, match='is truncated'):
            run_main('train', xe_run[0], '--work-dir', work, *resume)


def test_unwritable_outputs_fail_before_anything_runs(xe_run, tmp_path):
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    # A config that does not exist: the outputs are checked even before it
    # is read (before: the error came after the whole evaluation).
    for flag, name in (('--out', 'preds.pkl'), ('--metrics-out', 'm.json')):
        bad = str(a_file / name)
        with pytest.raises(OSError, match=f'{flag} .*{name}.*cannot write'):
            run_main('test', tmp_path / 'no_config.py', 'no.pth', flag, bad)
    with pytest.raises(IsADirectoryError, match='--metrics-out'):
        run_main('test', xe_run[0], 'no.pth', '--metrics-out', tmp_path)
