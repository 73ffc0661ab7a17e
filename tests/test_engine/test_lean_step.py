"""The lean training step through tools/train.py on a tiny fake CIFAR-10:
bf16 autocast (``--amp`` without CUDA) and ``compile=True`` with the TDE head
and the xERM teacher forward.

A TDE run (the xERM-TDE teacher) and an xERM-TDE run on a 1/1/1-block BBN
ResNet-32, two full batches of 32 per epoch.
"""
import math
import os.path as osp
import re
import shutil

import pytest
import torch

from conftest import small_cifar10_config
from inprocess_tool import run_main

TDE = 'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
XERM_TDE = 'xerm/xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
# A small backbone and two equal batches (no last, smaller one): quick to
# train and, under torch.compile, to compile.
TINY = """
model.update(backbone=dict(stage_blocks=(1, 1, 1)))
train_dataloader.update(batch_size=32, drop_last=True)
"""
TEACHER = """
model.update(teacher=dict(config={config!r}, checkpoint={ckpt!r}))
"""


def losses(log: str) -> list:
    """The ``loss`` of every training iteration the log shows."""
    return [
        float(v) for v in re.findall(
            r'Epoch\(train\).*? loss: ([-+0-9.eE]+|nan|inf)', log)
    ]


def train(config, work_dir, *args):
    runner, log = run_main('train', config, '--work-dir', work_dir,
                           '--no-validate', *args)
    values = losses(log)
    assert len(values) == 2 and all(math.isfinite(v) for v in values), log
    return runner, values


@pytest.fixture(scope='module')
def tiny(fake_cifar10_root, tmp_path_factory):
    """The TDE config, the xERM-TDE config (its teacher: the TDE run) and
    their eager float32 runs, ``(runner, losses)``, made when first used."""
    folder = tmp_path_factory.mktemp('lean')
    tde = small_cifar10_config(TDE, fake_cifar10_root, str(folder), TINY)
    eager = dict(tde=train(tde, folder / 'tde'))
    xerm = small_cifar10_config(
        XERM_TDE, fake_cifar10_root, str(folder),
        TINY + TEACHER.format(config=tde,
                              ckpt=str(folder / 'tde' / 'epoch_1.pth')))

    def eager_run(name):
        if name not in eager:
            eager[name] = train(xerm, folder / name)
        return eager[name]

    return dict(tde=tde, xerm=xerm, eager=eager_run)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
@pytest.mark.parametrize('name', ['tde', 'xerm'])
def test_amp_trains_tde_and_xerm_in_bf16_keeping_float32_state(
        tiny, name, tmp_path):
    """``--amp`` on the CPU: bf16 autocast; the losses are finite and close
    to the float32 run's, the TDE moving average stays float32."""
    fp32 = tiny['eager'](name)[1]
    runner, bf16 = train(tiny[name], tmp_path / 'bf16', '--amp')
    assert type(runner.optim_wrapper).__name__ == 'AutocastOptimWrapper'
    assert runner.optim_wrapper.cast_dtype is torch.bfloat16
    head = runner.model.head
    assert head.moving_avg.dtype is torch.float32
    assert int(head.num_updates) == 2
    ckpt = torch.load(tmp_path / 'bf16' / 'epoch_1.pth', weights_only=True)
    assert ckpt['state_dict']['head.moving_avg'].dtype is torch.float32
    # The first step starts from the same weights: bf16 rounding only.
    assert bf16[0] == pytest.approx(fp32[0], rel=0.02)
    assert all(p.dtype is torch.float32 for p in runner.model.parameters())


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which('g++') is None and shutil.which('c++') is None,
    reason='torch.compile (inductor) on the CPU needs a C++ compiler (g++) '
    'to build its kernels; none on PATH')
def test_compile_trains_xerm_tde_like_eager(tiny, tmp_path):
    """``--cfg-options compile=True`` (MMEngine compiles ``train_step``) on
    xERM-TDE: the student's TDE head (moving average updated in the
    compiled step) and the teacher forward train, with the eager run's
    losses. (Compiling is slow on a CPU: one run covers both.)"""
    eager_runner, eager = tiny['eager']('xerm')
    runner, compiled = train(tiny['xerm'], tmp_path / 'compiled',
                             '--cfg-options', 'compile=True')
    assert 'has been "compiled"' in open(
        osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert compiled == pytest.approx(eager, rel=1e-3, abs=1e-4)
    head, eager_head = runner.model.head, eager_runner.model.head
    assert int(head.num_updates) == 2
    torch.testing.assert_close(head.moving_avg, eager_head.moving_avg,
                               rtol=1e-3, atol=1e-4)
