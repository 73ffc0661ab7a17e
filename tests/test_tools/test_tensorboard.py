"""The optional TensorBoard extra: installable, and a training run with
MMEngine's ``TensorboardVisBackend`` writes an event file."""
import ast
import glob
import math
import os.path as osp

import pytest

from inprocess_tool import run_main

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'xe',
                  'xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py')


def _requirements(name):
    with open(osp.join(ROOT, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


def test_tensorboard_is_an_extra_pinned_for_the_tests():
    with open(osp.join(ROOT, 'setup.py')) as f:
        tree = ast.parse(f.read())
    extras = next(node.value for node in ast.walk(tree)
                  if isinstance(node, ast.keyword)
                  and node.arg == 'extras_require')
    keys = [ast.literal_eval(key) for key in extras.keys]
    assert 'tensorboard' in keys, (
        "setup.py: no extra 'tensorboard' (pip install -e '.[tensorboard]')")
    pinned = _requirements('tensorboard.txt')
    assert len(pinned) == 1 and pinned[0].startswith('tensorboard==')
    # The tests install it, so that the run below is not skipped.
    assert pinned[0] in _requirements('tests.txt')


@pytest.mark.slow
def test_training_writes_a_tensorboard_event_file(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    work_dir = tmp_path / 'work'
    _, out = run_main(
        'train', CONFIG, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1', 'param_scheduler=None',
        'visualizer.vis_backends.0.type=TensorboardVisBackend')
    events = glob.glob(str(work_dir / '*' / 'vis_data' /
                           'events.out.tfevents.*'))
    assert len(events) == 1, out[-3000:]
    acc = EventAccumulator(events[0])
    acc.Reload()
    tags = acc.Tags()['scalars']
    assert 'loss' in tags and 'lr' in tags, tags
    loss = acc.Scalars('loss')
    assert loss and loss[-1].step == 8  # the last of one epoch's 8 steps
    assert math.isfinite(loss[-1].value)
    assert any('top1' in tag for tag in tags), tags  # validation
