"""PC and TDE end to end through the tools, on a tiny fake CIFAR-10."""
import json
import os.path as osp

import torch

from conftest import run_tool, small_cifar10_config
from xerm_mm.utils import checkpoint_safe_globals


def _rows(stdout):
    return [
        line.split('|')[1].strip() for line in stdout.splitlines()
        if line.startswith('| ') and not line.startswith('| test set')
    ]


def test_pc_evaluates_an_xe_checkpoint(xe_run, fake_cifar10_root, tmp_path):
    _, xe_work, _ = xe_run
    config = small_cifar10_config(
        'pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path))
    out = str(tmp_path / 'pc.json')
    stdout = run_tool('tools/test.py', config,
                      osp.join(xe_work, 'epoch_1.pth'), '--work-dir',
                      str(tmp_path), '--metrics-out', out, '--views', 'imbalanced',
                      'balanced')
    # The XE checkpoint has no prior: the counts come from the test set's
    # metainfo (its training split's counts).
    assert 'PCHead: training class counts set (10 classes' in stdout
    assert _rows(stdout) == [
        'balanced/imbalanced_view', 'ib10/imbalanced_view',
        'balanced/balanced_view', 'ib10/balanced_view'
    ]
    metrics = json.load(open(out))
    # The balanced view moves predictions towards the tail.
    tail_imba = sum(
        metrics['balanced/imbalanced_view/lt/per_class_pred_count'][5:])
    tail_ba = sum(
        metrics['balanced/balanced_view/lt/per_class_pred_count'][5:])
    assert tail_ba >= tail_imba


def test_tde_trains_and_reports_both_views(fake_cifar10_root, tmp_path):
    config = small_cifar10_config(
        'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path))
    run_tool('tools/train.py', config, '--work-dir', str(tmp_path))
    ckpt = osp.join(str(tmp_path), 'epoch_1.pth')
    with checkpoint_safe_globals():
        state = torch.load(ckpt, map_location='cpu')['state_dict']
    # The moving average is part of the checkpoint: 5 training steps.
    assert int(state['head.num_updates']) == 5
    assert state['head.moving_avg'].abs().sum() > 0
    stdout = run_tool('tools/test.py', config, ckpt, '--work-dir',
                      str(tmp_path), '--views', 'imbalanced', 'balanced',
                      '--test-sets', 'balanced')
    assert _rows(stdout) == [
        'balanced/imbalanced_view', 'balanced/balanced_view'
    ]
    # The predict_view of the config is overridable from the command line.
    stdout = run_tool('tools/test.py', config, ckpt, '--work-dir',
                      str(tmp_path), '--test-sets', 'balanced',
                      '--cfg-options', 'model.head.predict_view=imbalanced')
    assert _rows(stdout) == ['balanced']
