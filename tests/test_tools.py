"""End to end through the command-line tools, on a tiny fake CIFAR-10."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

from conftest import ROOT, run_tool


def test_train_validates_and_keeps_checkpoints(xe_run):
    _, work, log = xe_run
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'Epoch(val) [1]' in log and 'lt/top1' in log
    assert 'best_lt_top1_epoch_1.pth' in os.listdir(work)


def test_resume_continues_from_the_last_epoch(xe_run, tmp_path):
    config, work, _ = xe_run
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(work, resumed)
    log = run_tool('tools/train.py', config, '--work-dir', resumed,
                   '--resume', '--cfg-options', 'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1' in log.lower().replace(',', '')
    assert 'Epoch(train) [2]' in log
    assert 'Epoch(train) [1]' not in log
    assert osp.isfile(osp.join(resumed, 'epoch_2.pth'))


def test_load_from_own_checkpoint(xe_run, tmp_path):
    config, work, _ = xe_run
    log = run_tool('tools/train.py', config, '--work-dir', str(tmp_path),
                   '--cfg-options',
                   f'load_from={osp.join(work, "epoch_1.pth")}')
    assert 'Load checkpoint from' in log


def test_multi_test_set_table_and_dump(xe_run, tmp_path):
    config, work, _ = xe_run
    out = str(tmp_path / 'metrics.json')
    stdout = run_tool('tools/test.py', config, osp.join(work, 'epoch_1.pth'),
                      '--work-dir', str(tmp_path), '--metrics-out', out)
    table = [line for line in stdout.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| test set | top1 |')
    assert [row.split('|')[1].strip()
            for row in table[1:]] == ['balanced', 'ib10']
    metrics = json.load(open(out))
    # Every test image counted once, per-class counts kept for plots.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
    assert sum(metrics['balanced/lt/per_class_pred_count']) == 80
    # IB 10 test profile on 8 per class: 8, 6, 4, ..., 0.
    ib10 = metrics['ib10/lt/per_class_gt_count']
    assert ib10[0] == 8 and ib10[-1] == 0
    assert sum(metrics['ib10/lt/per_class_tp']) <= sum(ib10)
    assert 0 <= metrics['balanced/lt/top1'] <= 100


def test_test_sets_flag_rejects_unknown_names(xe_run):
    config, work, _ = xe_run
    proc = run_tool('tools/test.py', config, osp.join(work, 'epoch_1.pth'),
                    '--test-sets', 'ib1000', check=False)
    assert proc.returncode != 0
    assert 'ib1000' in proc.stderr and 'balanced' in proc.stderr


def test_bad_data_root_fails_fast(xe_run, tmp_path):
    config, _, _ = xe_run
    proc = run_tool('tools/train.py', config, '--data-root',
                    str(tmp_path / 'nowhere'), check=False)
    assert proc.returncode != 0
    assert 'nowhere' in proc.stderr and 'not a folder' in proc.stderr


def test_two_process_cpu_training_and_testing(xe_run, tmp_path):
    config, _, _ = xe_run
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT='29517')
    work = str(tmp_path)
    train = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log
    # 79 training images, 40 per process at batch 16 (5 steps on one).
    assert 'Epoch(train) [1][3/3]' in log
    out = str(tmp_path / 'metrics.json')
    test = subprocess.run([
        'bash', 'tools/dist_test.sh', config,
        osp.join(work, 'epoch_1.pth'), '2', '--work-dir', work, '--metrics-out', out,
        '--test-sets', 'balanced'
    ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert test.returncode == 0, test.stderr[-5000:]
    metrics = json.load(open(out))
    # 80 test images over 2 processes: each counted exactly once.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
