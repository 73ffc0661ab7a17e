"""End to end through the command-line tools, on a tiny fake CIFAR-10."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'xe',
                  'xe_bbn-resnet32_1xb128-12e_cifar10lt-ib100.py')
# Small, fast and valid for 20 images per class (IB 10: 20 ... 2 images).
SMALL = [
    'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'train_dataloader.dataset.imbalance_ratio=10',
    'val_dataloader.dataset.train_imbalance_ratio=10',
    'test_dataloader.dataset.train_imbalance_ratio=10',
    'train_cfg.val_interval=1', 'default_hooks.logger.interval=1'
]


def run_tool(*args, env=None, timeout=300):
    env = dict(os.environ, **(env or {}))
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(fake_cifar10_root, tmp_path_factory):
    """Train one epoch, then resume to a second one."""
    work = str(tmp_path_factory.mktemp('work'))
    common = ['--data-root', fake_cifar10_root, '--work-dir', work]
    run_tool('tools/train.py', CONFIG, *common, '--cfg-options', *SMALL,
             'train_cfg.max_epochs=1')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    log = run_tool('tools/train.py', CONFIG, *common, '--resume',
                   '--cfg-options', *SMALL, 'train_cfg.max_epochs=2')
    return work, log


def test_resume_continues_from_the_last_epoch(trained):
    work, log = trained
    assert 'resumed epoch: 1' in log.lower().replace(',', '')
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    assert 'Epoch(train) [2]' in log
    assert 'Epoch(train) [1]' not in log


def test_multi_test_set_table_and_dump(trained, fake_cifar10_root, tmp_path):
    work, _ = trained
    out = str(tmp_path / 'metrics.json')
    stdout = run_tool(
        'tools/test.py', CONFIG, osp.join(work, 'epoch_2.pth'), '--data-root',
        fake_cifar10_root, '--work-dir', str(tmp_path), '--out', out,
        '--test-sets', 'balanced', 'ib10', '--cfg-options', *SMALL)
    table = [line for line in stdout.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| test set | top1 |')
    assert [row.split('|')[1].strip()
            for row in table[1:]] == ['balanced', 'ib10']
    metrics = json.load(open(out))
    # Every test image counted once, per-class counts kept for plots.
    assert sum(metrics['balanced/lt/per_class_gt_count']) == 80
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
    assert sum(metrics['balanced/lt/per_class_pred_count']) == 80
    ib10 = metrics['ib10/lt/per_class_gt_count']
    assert ib10[0] == 8 and ib10[-1] == 0
    assert 0 <= metrics['balanced/lt/top1'] <= 100


def test_load_from_own_checkpoint(trained, fake_cifar10_root, tmp_path):
    work, _ = trained
    log = run_tool('tools/train.py', CONFIG, '--data-root', fake_cifar10_root,
                   '--work-dir', str(tmp_path), '--cfg-options', *SMALL,
                   'train_cfg.max_epochs=1',
                   f'load_from={osp.join(work, "epoch_2.pth")}')
    assert 'Load checkpoint from' in log


def test_bad_data_root_fails_fast(tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/train.py', CONFIG, '--data-root',
        str(tmp_path / 'nowhere')
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'nowhere' in proc.stderr and 'not a folder' in proc.stderr


def test_two_process_cpu_training_and_testing(fake_cifar10_root, tmp_path):
    env = dict(PYTHON=sys.executable, PORT='29517')
    work = str(tmp_path)
    log = subprocess.run([
        'bash', 'tools/dist_train.sh', CONFIG, '2', '--data-root',
        fake_cifar10_root, '--work-dir', work, '--cfg-options', *SMALL,
        'train_cfg.max_epochs=1'
    ],
                         cwd=ROOT,
                         env=dict(os.environ, OMP_NUM_THREADS='1', **env),
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert log.returncode == 0, log.stderr[-5000:]
    assert 'Distributed launcher: pytorch' in log.stdout + log.stderr
    assert 'Distributed training: True' in log.stdout + log.stderr
    # 79 training images, 40 per process at batch 16 (5 steps on one).
    assert 'Epoch(train) [1][3/3]' in log.stdout + log.stderr
    out = str(tmp_path / 'metrics.json')
    test = subprocess.run([
        'bash', 'tools/dist_test.sh', CONFIG,
        osp.join(work, 'epoch_1.pth'), '2', '--data-root', fake_cifar10_root,
        '--work-dir', work, '--out', out, '--test-sets', 'balanced',
        '--cfg-options', *SMALL
    ],
                          cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1', **env),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert test.returncode == 0, test.stderr[-5000:]
    metrics = json.load(open(out))
    # 80 test images over 2 processes: each counted exactly once.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
