"""Kill a training after epoch 1's checkpoint, resume: bit-identical run.

Each case trains the tiny CIFAR-10 XE config for 2 epochs without a break,
and again with a hook that raises in the middle of epoch 2 (a kill: the work
dir keeps ``epoch_1.pth``), followed by ``tools/train.py --resume``. The
logged losses and learning rates of every iteration, the validation metrics
of every epoch and the final weights must be equal bit for bit. Two fast
tests check the worker seeding and the stored states alone.
"""
import glob
import json
import os
import os.path as osp
import random

import numpy as np
import pytest
import torch
from conftest import small_cifar10_config
from inprocess_tool import run_main
from mmengine.hooks import Hook
from torch.utils.data import DataLoader, Dataset

from xerm_mm.engine.hooks.rng_state_hook import CHECKPOINT_KEY
from xerm_mm.engine.rng_states import get_rng_states, set_rng_states
from xerm_mm.engine.worker_seeding import EpochWorkerSeeding
from xerm_mm.registry import HOOKS

pytestmark = pytest.mark.usefixtures('one_thread')

XE = 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
TDE = 'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
# Scalars that depend on the machine's speed, not on the run.
TIMING_KEYS = {'time', 'data_time', 'eta', 'memory'}


class Killed(Exception):
    """The simulated kill."""


@HOOKS.register_module(force=True)
class KillInEpochHook(Hook):
    """Raise :class:`Killed` after ``iters`` iterations of epoch ``epoch``."""

    priority = 'LOWEST'  # after the logger has written the iteration

    def __init__(self, epoch: int, iters: int = 1) -> None:
        self.epoch = epoch
        self.iters = iters

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.epoch + 1 == self.epoch and batch_idx + 1 == self.iters:
            raise Killed(f'killed in epoch {self.epoch}')


def _config(base, root, folder, num_workers, kill=False):
    extra = ('train_cfg.update(max_epochs=2)\n'
             f'train_dataloader.update(num_workers={num_workers}, '
             f'persistent_workers={num_workers > 0})\n')
    if kill:
        extra += ("default_hooks.update(kill=dict("
                  "type='xerm_mm.KillInEpochHook', epoch=2, iters=2))\n")
    return small_cifar10_config(base, root, folder, extra)


def _scalars(work_dir):
    """The logged scalars of the runs in ``work_dir``: (train, val).

    ``train`` maps each iteration to its record (loss, lr, ...), ``val``
    each epoch to its metrics; timings are left out, NaN kept as a string.
    """
    train, val = {}, {}
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                record = json.loads(line, parse_constant=str)
                record = {
                    k: v
                    for k, v in record.items() if k not in TIMING_KEYS
                }
                if 'loss' in record:
                    train.setdefault(record['iter'], []).append(record)
                else:
                    val.setdefault(record['step'], []).append(record)
    return train, val


def _train(config, work_dir, *args):
    return run_main('train', config, '--work-dir', work_dir, *args)


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    'base, num_workers', [(XE, 0), (XE, 2), (TDE, 0)],
    ids=['xe-in-process', 'xe-2-persistent-workers', 'tde-momentum'])
def test_kill_and_resume_reproduce_the_uninterrupted_run(
        fake_cifar10_root, tmp_path, base, num_workers):
    straight = str(tmp_path / 'straight')
    _train(_config(base, fake_cifar10_root, straight, num_workers), straight)

    broken = str(tmp_path / 'broken')
    with pytest.raises(Killed):
        _train(
            _config(base, fake_cifar10_root, broken, num_workers, kill=True),
            broken)
    assert osp.isfile(osp.join(broken, 'epoch_1.pth'))
    assert not osp.isfile(osp.join(broken, 'epoch_2.pth'))
    for folder in glob.glob(osp.join(broken, '2*')):  # its log folder
        os.rename(folder, osp.join(broken, 'killed_' + osp.basename(folder)))
    _, log = _train(_config(base, fake_cifar10_root, broken, num_workers),
                    broken, '--resume')
    assert 'Restored the random states of iteration' in log

    train, val = _scalars(straight)
    got_train, got_val = _scalars(broken)
    # The first 2 iterations of epoch 2 ran twice: killed, then resumed.
    redone = [it for it, records in got_train.items() if len(records) == 2]
    assert len(redone) == 2
    for it in redone:
        assert got_train[it][0] == got_train[it][1], it
        del got_train[it][1]
    assert len(train) > 6 and len(val) == 2
    assert got_train == train
    assert got_val == val

    a = _weights(osp.join(straight, 'epoch_2.pth'))
    b = _weights(osp.join(broken, 'epoch_2.pth'))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    assert torch.equal(a[CHECKPOINT_KEY]['ranks'][0]['numpy']['keys'],
                       b[CHECKPOINT_KEY]['ranks'][0]['numpy']['keys'])


class _RandomDataset(Dataset):
    """Each item: a draw of numpy's, python's and torch's generators."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return torch.tensor(
            [np.random.rand(),
             random.random(),
             torch.rand(()).item()],
            dtype=torch.float64)


def _epochs(first, last, persistent):
    loader = DataLoader(_RandomDataset(),
                        batch_size=2,
                        num_workers=2,
                        persistent_workers=persistent)
    seeding = EpochWorkerSeeding(loader, seed=3, rank=0)
    draws = {}
    for epoch in range(first, last):
        seeding.set_epoch(epoch)
        draws[epoch] = torch.cat(list(loader))
    return draws


def test_workers_are_reseeded_per_epoch_also_when_persistent():
    draws = _epochs(0, 3, persistent=True)
    # Persistent workers started at epoch 2 (a resumed run) draw the same.
    assert torch.equal(_epochs(2, 3, persistent=True)[2], draws[2])
    assert torch.equal(_epochs(0, 3, persistent=False)[2], draws[2])
    # Every epoch, worker and generator draws other numbers.
    assert not torch.equal(draws[1], draws[2])
    assert len(set(draws[2].flatten().tolist())) == draws[2].numel()


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    np.random.rand(), random.random(), torch.rand(1), np.random.randn()
    path = str(tmp_path / 'states.pth')
    torch.save(get_rng_states(), path)
    expected = np.random.randn(3), random.random(), torch.rand(3)
    set_rng_states(torch.load(path, weights_only=True))
    got = np.random.randn(3), random.random(), torch.rand(3)
    assert np.array_equal(got[0], expected[0]) and got[1] == expected[1]
    assert torch.equal(got[2], expected[2])
    with pytest.raises(KeyError, match='not written by this version'):
        set_rng_states(dict(numpy=None), 'ckpt')
