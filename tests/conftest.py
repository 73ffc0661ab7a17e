import gc
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))

import fast_config  # noqa: E402
from fake_cifar import write_fake_cifar10  # noqa: E402

fast_config.install()

# One intra-op thread in the test process and in every tool process it
# starts, directly or through a tool run in this process (the steps of a
# pipeline: Snakemake would give each cores // --jobs threads): the nets are
# tiny, and more threads only spin against the other test worker and the
# tools on a 2-core machine (a digits epoch in this process: 15 s on two
# threads, 8 s on one).
torch.set_num_threads(1)
os.environ['OMP_NUM_THREADS'] = '1'

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Overrides that turn a CIFAR100-LT config of the package into a tiny
# CIFAR10-LT run: IB 10 on 20 images per class (20 ... 2), batch 16, 1 epoch.
SMALL_CIFAR10 = """
_base_ = 'xerm_mm::{base}'
_data = dict(type='CIFAR10LT', data_root={root!r},
             images_per_class=dict(train=20, test=8))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(_data, imbalance_ratio=10))
val_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(_data, train_imbalance_ratio=10))
test_dataloader = val_dataloader
test_cfg = dict(test_sets=dict(
    _delete_=True, balanced=dict(imbalance_ratio=1),
    ib10=dict(imbalance_ratio=10)))
model = dict(head=dict(num_classes=10))
data_preprocessor = dict(num_classes=10)
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""


def small_cifar10_config(base: str, root: str, folder: str,
                         extra: str = '') -> str:
    """Write a tiny CIFAR-10 variant of package config ``base``."""
    # Not in a work dir: MMEngine dumps the merged config there by name.
    os.makedirs(osp.join(folder, 'configs'), exist_ok=True)
    path = osp.join(folder, 'configs', 'small_' + osp.basename(base))
    with open(path, 'w') as f:
        f.write(SMALL_CIFAR10.format(base=base, root=root) + extra)
    return path


def run_tool(*args, env=None, timeout=300, check=True):
    """Run a tool of the repo in a subprocess; return stdout + stderr."""
    env = dict(os.environ, **(env or {}))
    proc = subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, (proc.stdout[-3000:] +
                                      proc.stderr[-5000:])
    return proc.stdout + proc.stderr if check else proc


@pytest.fixture
def one_thread():
    """One intra-op thread: more only slows these tiny nets on shared CPUs.

    Use it with ``pytestmark = pytest.mark.usefixtures('one_thread')``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def xerm_scope():
    """Every module registered and ``xerm_mm`` the default scope."""
    from mmengine.registry import DefaultScope

    from xerm_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        yield


@pytest.fixture(scope='session')
def fake_cifar10_root(tmp_path_factory):
    """A tiny CIFAR-10 (20 train / 8 test images per class)."""
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar10')))


@pytest.fixture(scope='session')
def xe_run(fake_cifar10_root, tmp_path_factory):
    """One epoch of XE on the tiny CIFAR-10: (config, work_dir, log)."""
    folder = str(tmp_path_factory.mktemp('xe'))
    config = small_cifar10_config(
        'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, folder)
    log = run_tool('tools/train.py', config, '--work-dir', folder)
    return config, folder, log


# The files that take longest, longest first. ``make test`` hands whole
# files to the workers in collection order (--dist loadfile
# --no-loadscope-reorder): when the long ones start first, the workers end
# close together instead of one running a long file alone at the end.
# (CPU seconds of each file, its tool processes included, in one full run on
# a 2-core machine, 3 workers, the shared CIFAR-100 present, December
# 2026.) An entry is a file's name, or its path under tests/
# (``test_tools/test_x.py``) where two folders hold the same name. Files
# not listed follow: those with a ``slow`` test first, then the others, each
# in the usual order.
LONGEST_FILES_FIRST = [
    'test_model_zoo.py',  # 104: tests/test_configs/ (skipped without data)
    'test_experiment_run.py',  # 78: tests/test_experiment/
    'test_xerm_ablation.py',  # 68: tests/test_tools/
    'test_lt_pipelines.py',  # 67: tests/test_configs/
    'test_post_hoc_run.py',  # 50: tests/test_experiment/
    # torch.compile: 13 with inductor's cache of an earlier run (in /tmp),
    # 46 on a machine without it.
    'test_lean_step.py',  # 46: tests/test_engine/
    'test_mmpretrain_tools.py',  # 35: tests/test_interop/ (mim)
    'test_ride.py',  # 34: tests/test_models/
    'test_train_test.py',  # 31: tests/test_tools/
    'test_experiment/test_run.py',  # 30
    'test_lt_recipes.py',  # 21: tests/test_configs/
    'test_distribution_sweep.py',  # 20: tests/test_tools/
    'test_balanced_losses.py',  # 16: tests/test_models/
    'test_feature_study.py',  # 14: tests/test_tools/
    'test_decoupling.py',  # 14: tests/test_models/
    'test_choose_tde_alpha.py',  # 14: tests/test_tools/
    'test_exact_resume.py',  # 12: tests/test_engine/
]


def pytest_collection_finish(session):
    # The modules the tests imported live as long as the worker: out of the
    # garbage collector's scans (MMEngine collects after building each
    # dataset, which took 0.4 s and more with them), as in tools/train.py.
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    slow = {item.path for item in items if item.get_closest_marker('slow')}
    tests = osp.dirname(osp.abspath(__file__))

    def order(item):
        # An entry is a file's name or its path under tests/.
        listed = rank.get(osp.relpath(item.path, tests).replace(osp.sep, '/'),
                          rank.get(item.path.name))
        if listed is not None:
            return listed
        return len(rank) + (item.path not in slow)

    items.sort(key=order)  # stable: each file's tests keep their order
