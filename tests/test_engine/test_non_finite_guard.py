"""A diverging training stops at once, and no NaN weights are saved or used.

The end-to-end cases train the tiny CIFAR-10 XE config with a huge learning
rate (``optim_wrapper.optimizer.lr=1e6``); the others call the hook with a
stand-in runner.
"""
import glob
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger

from conftest import small_cifar10_config
from inprocess_tool import run_main
from xerm_mm.engine.hooks import NonFiniteGuardHook
from xerm_mm.engine.hooks.non_finite_guard_hook import NonFiniteLossError
from xerm_mm.utils.checkpoint_checks import (NonFiniteWeightsError,
                                             non_finite_keys)

XE = 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
HUGE_LR = ('--cfg-options', 'optim_wrapper.optimizer.lr=1e6')


def _saved_checkpoints(work_dir):
    return glob.glob(osp.join(str(work_dir), '**', '*.pth'), recursive=True)


def test_huge_lr_stops_at_the_first_non_finite_step(fake_cifar10_root,
                                                    tmp_path):
    config = small_cifar10_config(XE, fake_cifar10_root, str(tmp_path))
    work = tmp_path / 'work'
    with pytest.raises(NonFiniteLossError) as error:
        run_main('train', config, '--work-dir', work, *HUGE_LR)
    # The error leaves main(): tools/train.py exits non-zero with it.
    message = str(error.value)
    # At the first non-finite loss, or at the epoch's end if only the
    # weights (BatchNorm statistics) overflowed while the loss stayed finite.
    assert re.search(r'epoch 1, iteration \d+/\d+|end of epoch 1', message), (
        message)
    assert 'lower learning rate' in message and '--amp' in message
    assert 'check' in message and 'data' in message
    # Before: NaN epoch / best checkpoints, exit 0. Now: nothing saved.
    assert _saved_checkpoints(work) == []


def test_the_guard_is_a_default_hook_before_the_checkpoint_hook(
        fake_cifar10_root, tmp_path, xerm_scope):
    from xerm_mm.utils.config import build_runner
    config = small_cifar10_config(XE, fake_cifar10_root, str(tmp_path))
    cfg = Config.fromfile(config)
    assert cfg.default_hooks.non_finite_guard.type == (
        'xerm_mm.NonFiniteGuardHook')
    cfg.work_dir = str(tmp_path / 'work')
    names = [type(hook).__name__ for hook in build_runner(cfg).hooks]
    assert names.index('NonFiniteGuardHook') < names.index('CheckpointHook')
    assert names.index('NonFiniteGuardHook') < names.index('LoggerHook')
    # None turns it (or any of our default hooks) off, as for MMEngine's own.
    cfg.default_hooks.non_finite_guard = None
    cfg.default_hooks.checkpoint = None
    cfg.experiment_name = 'guard_off'
    names = [type(hook).__name__ for hook in build_runner(cfg).hooks]
    assert 'NonFiniteGuardHook' not in names
    assert 'CheckpointHook' not in names and 'RNGStateHook' in names


def _runner(model, grad_norm=None, amp=False):
    hub = MessageHub.get_instance('test_non_finite_guard')
    hub.log_scalars.pop('train/grad_norm', None)
    if grad_norm is not None:
        hub.update_scalar('train/grad_norm', grad_norm)
    optim_wrapper = SimpleNamespace(get_lr=lambda: dict(lr=[0.1]))
    if amp:
        optim_wrapper.loss_scaler = object()
    return SimpleNamespace(
        model=model,
        epoch=2,
        iter=17,
        message_hub=hub,
        optim_wrapper=optim_wrapper,
        train_loop=SimpleNamespace(dataloader=range(8)),
        logger=MMLogger.get_instance('test_non_finite_guard'))


def test_a_nan_loss_term_is_named_with_every_term():
    runner = _runner(nn.Linear(2, 2))
    outputs = dict(loss=torch.tensor(float('nan')),
                   loss_cls=torch.tensor(float('nan')),
                   loss_aux=torch.tensor(0.5),
                   accuracy=torch.tensor(float('nan')))  # not a loss term
    with pytest.raises(NonFiniteLossError) as error:
        NonFiniteGuardHook().after_train_iter(runner, 3, outputs=outputs)
    message = str(error.value)
    assert 'epoch 3, iteration 4/8 of the epoch (iteration 18' in message
    assert 'non-finite loss, loss_cls' in message
    assert 'loss_aux=0.5' in message and 'accuracy' not in message
    assert 'current one is 0.1' in message


def test_a_finite_step_passes():
    runner = _runner(nn.Linear(2, 2), grad_norm=3.0)
    NonFiniteGuardHook().after_train_iter(
        runner, 0, outputs=dict(loss=torch.tensor(1.0)))


def test_an_inf_gradient_norm_stops_unless_amp_scales_the_loss():
    outputs = dict(loss=torch.tensor(1.0))
    with pytest.raises(NonFiniteLossError, match='non-finite grad_norm'):
        NonFiniteGuardHook().after_train_iter(
            _runner(nn.Linear(2, 2), grad_norm=float('inf')), 0,
            outputs=outputs)
    # AMP's dynamic loss scaling skips such steps on purpose.
    NonFiniteGuardHook().after_train_iter(
        _runner(nn.Linear(2, 2), grad_norm=float('inf'), amp=True), 0,
        outputs=outputs)


def test_weights_made_nan_by_the_updates_stop_at_the_epoch_end():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.bias[0] = float('inf')
    # A finite loss passes each iteration (no pass over the weights there);
    # the epoch's end, before validation and saving, names the weights.
    NonFiniteGuardHook().after_train_iter(
        _runner(model), 0, outputs=dict(loss=torch.tensor(1.0)))
    with pytest.raises(NonFiniteLossError,
                       match=r'end of epoch 3 \(iteration 17 of the '
                       r'training\): the weights hold NaN/inf \(in bias\)'):
        NonFiniteGuardHook().after_train_epoch(_runner(model))
    NonFiniteGuardHook().after_train_epoch(_runner(nn.Linear(2, 2)))
    # weights_interval: also every N iterations (here the 18th).
    with pytest.raises(NonFiniteLossError, match=r'iteration 18 of the '
                       r'training\): the weights hold NaN/inf'):
        NonFiniteGuardHook(weights_interval=6).after_train_iter(
            _runner(model), 0, outputs=dict(loss=torch.tensor(1.0)))
    NonFiniteGuardHook(weights_interval=5).after_train_iter(
        _runner(model), 0, outputs=dict(loss=torch.tensor(1.0)))
    with pytest.raises(ValueError, match='weights_interval'):
        NonFiniteGuardHook(weights_interval=-1)


def test_no_checkpoint_of_nan_weights_is_saved():
    # The last resort for any save (a 'best' one after validation too).
    model = nn.Linear(2, 2)
    runner = _runner(model)
    checkpoint = dict(state_dict=model.state_dict())
    NonFiniteGuardHook().before_save_checkpoint(runner, checkpoint)
    checkpoint['state_dict']['weight'][0, 0] = float('nan')
    with pytest.raises(NonFiniteWeightsError,
                       match=r'not written\) holds NaN/inf weights in 1 '
                       r'tensor\(s\): weight\.'):
        NonFiniteGuardHook().before_save_checkpoint(runner, checkpoint)


def test_an_unset_pc_prior_is_not_a_divergence():
    # PCHead's log_prior_train is NaN until the class counts are set.
    state = dict(weight=torch.ones(2),
                 **{'head.log_prior_train': torch.full((2, ), float('nan'))})
    assert non_finite_keys(state) == []


def test_test_tool_refuses_nan_weights(xe_run, tmp_path):
    config, work, _ = xe_run
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    ckpt['state_dict']['head.fc.weight'][0, 0] = float('nan')
    ckpt['state_dict']['backbone.conv1.weight'][0] = float('inf')
    path = str(tmp_path / 'diverged.pth')
    torch.save(ckpt, path)
    # Before: a normal-looking table, exit 0.
    with pytest.raises(NonFiniteWeightsError) as error:
        run_main('test', config, path, '--work-dir', tmp_path)
    message = str(error.value)
    assert path in message
    assert 'backbone.conv1.weight, head.fc.weight' in message


def test_test_tool_refuses_an_inf_pc_prior(xe_run, tmp_path):
    # The XE weights under the PC config, with the prior PCHead keeps.
    config, work, _ = xe_run
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    prior = torch.full((10, ), -2.3)
    prior[3] = float('inf')
    ckpt['state_dict']['head.log_prior_train'] = prior
    path = str(tmp_path / 'inf_prior.pth')
    torch.save(ckpt, path)
    pc = small_cifar10_config('pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-'
                              'ib100.py', _data_root(config), str(tmp_path))
    # Before: the prior was exempt; exit 0, every prediction class 0.
    with pytest.raises(NonFiniteWeightsError) as error:
        run_main('test', pc, path, '--work-dir', tmp_path)
    assert path in str(error.value)
    assert 'head.log_prior_train' in str(error.value)


def _data_root(config):
    return Config.fromfile(config).train_dataloader.dataset.data_root
