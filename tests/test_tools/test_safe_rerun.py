"""tools/train.py: work dirs of another run, --resume with nothing to resume,
text where the config holds a number, schedules for any max_epochs.

Each run calls the tool's ``main()`` in this process; the refusals come
before any training.
"""
import glob
import os
import os.path as osp
import re
import signal

import pytest
from mmengine.config import Config

from conftest import small_cifar10_config
from inprocess_tool import run_main
from lock_holder import hold_in_another_process
from xerm_mm.utils.cfg_options import check_option_types
from xerm_mm.utils.schedule import fit_schedule

XE = 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
DIGITS = 'configs/xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py'


@pytest.fixture
def xe_config(fake_cifar10_root, tmp_path):
    return small_cifar10_config(XE, fake_cifar10_root, str(tmp_path))


def _touch(path, text='x'):
    with open(path, 'w') as f:
        f.write(text)


def test_a_work_dir_with_checkpoints_is_refused(xe_config, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    _touch(work / 'epoch_3.pth')
    _touch(work / 'last_checkpoint', str(work / 'epoch_3.pth'))
    with pytest.raises(FileExistsError) as err:
        run_main('train', xe_config, '--work-dir', work)
    msg = str(err.value)
    assert f"work dir '{work}' already holds the checkpoints" in msg
    assert 'epoch_3.pth, last_checkpoint' in msg
    assert '--resume' in msg and '--overwrite' in msg
    assert sorted(os.listdir(work)) == ['epoch_3.pth', 'last_checkpoint']


def test_overwrite_deletes_the_old_checkpoints_and_trains(xe_config, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    _touch(work / 'epoch_7.pth')
    _touch(work / 'best_lt_top1_epoch_7.pth')
    _touch(work / 'last_checkpoint', str(work / 'epoch_7.pth'))
    _touch(work / 'notes.txt')
    run_main('train', xe_config, '--work-dir', work, '--overwrite')
    names = os.listdir(work)
    assert 'epoch_1.pth' in names and 'notes.txt' in names
    assert not {'epoch_7.pth', 'best_lt_top1_epoch_7.pth'} & set(names)
    assert open(work /
                'last_checkpoint').read().strip().endswith('epoch_1.pth')


def test_overwrite_removes_only_what_a_run_wrote(xe_config, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    _touch(work / 'epoch_2.pth')
    _touch(work / 'best_lt_top1_epoch_2.pth')
    _touch(work / '.epoch_3.pth.4242.tmp')  # a write cut off by a kill
    _touch(work / 'last_checkpoint', str(work / 'epoch_2.pth'))
    _touch(work / 'resnet50_pretrained.pth', 'the user\'s weights')
    # Before: every *.pth went, the user's pretrained weights included.
    _, out = run_main('train', xe_config, '--work-dir', work, '--overwrite')
    names = set(os.listdir(work))
    assert 'resnet50_pretrained.pth' in names
    assert open(work / 'resnet50_pretrained.pth').read() == \
        "the user's weights"
    assert not {'epoch_2.pth', 'best_lt_top1_epoch_2.pth',
                '.epoch_3.pth.4242.tmp'} & names
    assert 'epoch_1.pth' in names
    assert (f"--overwrite: removed from '{work}' the checkpoints of the "
            'earlier run: .epoch_3.pth.4242.tmp, best_lt_top1_epoch_2.pth, '
            'epoch_2.pth, last_checkpoint; kept resnet50_pretrained.pth'
            ) in out


def test_other_weights_in_the_work_dir_are_not_a_run(xe_config, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    _touch(work / 'resnet50_pretrained.pth')
    run_main('train', xe_config, '--work-dir', work)
    assert {'resnet50_pretrained.pth', 'epoch_1.pth'} <= set(os.listdir(work))


def test_a_work_dir_in_use_is_refused_until_its_holder_ends(
        xe_config, tmp_path):
    work = str(tmp_path / 'work')
    holder = hold_in_another_process(work)
    try:
        # Before: both trainings ran, the later one replacing the earlier
        # one's checkpoints, and both exited 0.
        with pytest.raises(RuntimeError) as error:
            run_main('train', xe_config, '--work-dir', work)
        message = str(error.value)
        assert f"work dir '{work}' is in use by another training" in message
        assert f'pid {holder.pid} on host' in message
        assert 'train.py held.py' in message
        assert not glob.glob(osp.join(work, '*.pth'))
    finally:
        holder.send_signal(signal.SIGKILL)  # its lock goes with it
        holder.wait()
    run_main('train', xe_config, '--work-dir', work)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work, '.train.lock'))


def test_resume_and_overwrite_exclude_each_other(xe_config, tmp_path):
    with pytest.raises(SystemExit):
        run_main('train', xe_config, '--work-dir', tmp_path, '--resume',
                 '--overwrite')


def test_resume_with_nothing_to_resume_says_so(xe_config, tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f"--resume: nothing to resume in "
                                       f"'{tmp_path}' (no last_checkpoint")):
        run_main('train', xe_config, '--work-dir', tmp_path, '--resume')
    _touch(tmp_path / 'last_checkpoint', str(tmp_path / 'epoch_2.pth'))
    with pytest.raises(FileNotFoundError,
                       match='last_checkpoint\' names .*epoch_2.pth.*does '
                       'not exist'):
        run_main('train', xe_config, '--work-dir', tmp_path, '--resume')


@pytest.mark.parametrize('option,match', [
    ('optim_wrapper.optimizer.lr=abc',
     "optim_wrapper.optimizer.lr='abc': optim_wrapper.optimizer.lr must be "
     'a number (the config has 0.1)'),
    ('train_cfg.max_epochs=ten', "train_cfg.max_epochs='ten'"),
    ('param_scheduler.1.milestones=[8,x]',
     'must be a list of numbers (the config has [8, 10])'),
    ('train_cfg.max_epochs=0', 'train_cfg.max_epochs must be an int >= 1, '
     'but is 0'),
])
def test_bad_numbers_name_the_key_and_value(xe_config, tmp_path, option,
                                            match):
    with pytest.raises(ValueError, match=re.escape(match)):
        run_main('train', xe_config, '--work-dir', tmp_path, '--cfg-options',
                 option)
    assert os.listdir(tmp_path) == ['configs']  # nothing started


def test_options_that_are_not_numbers_still_merge():
    cfg = Config(dict(a=dict(lr=0.1, name='x', steps=[1, 2]), load_from=None))
    check_option_types(
        cfg, {
            'a.lr': 1e6,
            'a.name': 'y',
            'a.steps': [3],
            'load_from': 'w.pth',
            'a.new': 'z'
        })


def _schedule(epochs):
    cfg = Config.fromfile(DIGITS)
    cfg.train_cfg.max_epochs = epochs
    return cfg


@pytest.mark.parametrize('epochs,kept', [(1, 1), (2, 1), (3, 2), (30, 2)])
def test_phases_that_begin_after_the_last_epoch_are_left_out(epochs, kept):
    cfg = _schedule(epochs)
    phases = fit_schedule(cfg.param_scheduler, cfg)
    assert [p['type'] for p in phases] == ['LinearLR',
                                           'CosineAnnealingLR'][:kept]
    # One phase as a dict, and a dict of lists (one per optimizer).
    assert fit_schedule(cfg.param_scheduler[1],
                        cfg) == (None if kept == 1 else cfg.param_scheduler[1])
    per_optim = dict(a=cfg.param_scheduler)
    assert fit_schedule(per_optim, cfg) is per_optim


def test_the_digits_schedule_trains_one_epoch(tmp_path):
    # Before: "end should be larger than begin" from the cosine phase.
    runner, log = run_main('train', DIGITS, '--work-dir', tmp_path,
                           '--no-validate', '--cfg-options',
                           'train_cfg.max_epochs=1',
                           'train_dataloader.num_workers=0',
                           'train_dataloader.persistent_workers=False')
    assert osp.isfile(tmp_path / 'epoch_1.pth')
    assert runner.train_loop.epoch == 1
    assert 'param_scheduler[1] (CosineAnnealingLR) begins at epoch 2' in log


def test_the_cosine_ends_at_the_last_epoch():
    # T_max comes from max_epochs: lr 0 at the end of a shortened run.
    cosine = _schedule(10).param_scheduler[1]
    assert 'T_max' not in cosine and 'end' not in cosine
