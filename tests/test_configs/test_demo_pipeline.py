"""The offline demo (`make demo`): its pipeline and the task it sets."""
import os.path as osp
import re

from mmengine.config import Config

from xerm_mm.datasets import DigitsLT
from xerm_mm.experiment import make_plan

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def demo_pipeline() -> str:
    """The pipeline config the Makefile's ``demo`` target runs."""
    with open(osp.join(ROOT, 'Makefile')) as f:
        found = re.search(r'^DEMO_PIPELINE \?= (\S+)$', f.read(), re.M)
    assert found, 'Makefile: no DEMO_PIPELINE line'
    return osp.join(ROOT, found.group(1))


def test_make_demo_runs_the_ib100_digits_pipeline(tmp_path):
    with open(osp.join(ROOT, 'Makefile')) as f:
        assert 'tools/run_pipeline.py $(DEMO_PIPELINE)' in f.read()
    plan = make_plan(demo_pipeline(), str(tmp_path))
    assert list(plan.report['stages']) == ['xe', 'tde', 'xerm_pc', 'xerm_tde']
    assert plan.report['stages']['xe']['checkpoint'] == str(
        tmp_path / 'xe' / 'epoch_16.pth')


def test_demo_task_is_long_tailed_enough_to_show_the_bias():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'xe',
                 'xe_bbn-resnet32_1xb16-16e_digitslt-ib100.py'))
    train = cfg.train_dataloader.dataset
    assert (train.type, train.imbalance_ratio) == ('xerm_mm.DigitsLT', 100)
    dataset = DigitsLT(split='train', imbalance_ratio=100)
    counts = dataset.metainfo['class_counts']
    # The profile the dataset base file's comment quotes: 304 images, the
    # three last digits with 3, 2 and 1.
    assert list(counts) == [124, 74, 44, 26, 16, 9, 5, 3, 2, 1]
    metric = cfg.test_evaluator
    groups = ([c > metric.many_thr for c in counts].count(True),
              [c < metric.few_thr for c in counts].count(True))
    assert groups == (4, 3)
    # Forward imbalanced test sets (the paper's Table 4) beside the balanced.
    test_sets = cfg.test_cfg.test_sets
    assert test_sets['balanced'] == dict(imbalance_ratio=1)
    assert all(s['imbalance_ratio'] > 1 for k, s in test_sets.items()
               if k != 'balanced')
