"""PC and TDE end to end through the tools, on a tiny fake CIFAR-10.

The tools run in this process (``main()``, see :mod:`inprocess_tool`);
the ``xe_run`` fixture (tests/conftest.py) runs tools/train.py once in a
subprocess.
"""
import json
import os.path as osp
import pickle

import torch

from conftest import small_cifar10_config
from inprocess_tool import run_main
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
    _, stdout = run_main('test', config, osp.join(xe_work, 'epoch_1.pth'),
                         '--work-dir', tmp_path, '--metrics-out', out,
                         '--views', 'imbalanced', 'balanced')
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


def test_pc_with_test_time_augmentation(xe_run, fake_cifar10_root, tmp_path):
    # --tta wraps the model: the class-count hook must still find PC's head.
    _, xe_work, _ = xe_run
    config = small_cifar10_config(
        'pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path))
    _, stdout = run_main('test', config, osp.join(xe_work, 'epoch_1.pth'),
                         '--work-dir', tmp_path, '--tta', '--test-sets',
                         'balanced')
    assert 'PCHead: training class counts set (10 classes' in stdout
    assert _rows(stdout) == ['balanced']


def test_tde_trains_and_reports_both_views(fake_cifar10_root, tmp_path):
    config = small_cifar10_config(
        'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path))
    run_main('train', config, '--work-dir', tmp_path)
    ckpt = osp.join(str(tmp_path), 'epoch_1.pth')
    with checkpoint_safe_globals():
        state = torch.load(ckpt, map_location='cpu')['state_dict']
    # The moving average is part of the checkpoint: 5 training steps.
    assert int(state['head.num_updates']) == 5
    assert state['head.moving_avg'].abs().sum() > 0
    _, stdout = run_main('test', config, ckpt, '--work-dir', tmp_path,
                         '--views', 'imbalanced', 'balanced', '--test-sets',
                         'balanced')
    assert _rows(stdout) == [
        'balanced/imbalanced_view', 'balanced/balanced_view'
    ]
    # The predict_view of the config is overridable from the command line.
    _, stdout = run_main('test', config, ckpt, '--work-dir', tmp_path,
                         '--test-sets', 'balanced', '--cfg-options',
                         'model.head.predict_view=imbalanced')
    assert _rows(stdout) == ['balanced']
    # Both views under flip TTA: the head is found inside the TTA model, and
    # --out writes one file per view.
    _, stdout = run_main('test', config, ckpt, '--work-dir', tmp_path,
                         '--views', 'imbalanced', 'balanced', '--test-sets',
                         'balanced', '--tta', '--out', tmp_path / 'tde.pkl')
    assert _rows(stdout) == [
        'balanced/imbalanced_view', 'balanced/balanced_view'
    ]
    scores = {}
    for view in ('imbalanced', 'balanced'):
        with open(tmp_path / f'tde_balanced_{view}_view.pkl', 'rb') as f:
            scores[view] = torch.stack(
                [pred['pred_score'] for pred in pickle.load(f)])
    assert len(scores['balanced']) == 80
    assert not torch.equal(scores['imbalanced'], scores['balanced'])
