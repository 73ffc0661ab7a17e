"""Tests of LongTailMetric (xerm_mm/evaluation/metrics/long_tail.py)."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import Accuracy, SingleLabelMetric
from mmpretrain.structures import DataSample

from xerm_mm.evaluation.metrics import LongTailMetric
from xerm_mm.registry import METRICS

# 3 classes, one per group: class 0 many (150), 1 medium (50), 2 few (5).
COUNTS = [150, 50, 5]
NAN = float('nan')


def pct(x):
    return 100 * x


def assert_metrics(result, expected):
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(result[key]), key
        else:
            assert result[key] == pytest.approx(value, abs=1e-9), key


def test_hand_computed_one_class_per_group():
    gt = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    pred = [0, 0, 0, 1, 1, 1, 0, 2, 0, 2]
    # tp = [3, 2, 1], gt count = [4, 4, 2], pred count = [5, 3, 2]
    r = LongTailMetric.calculate(pred, gt, COUNTS)
    assert_metrics(
        r,
        dict(
            top1=pct(6 / 10),
            many_recall=pct(3 / 4),
            medium_recall=pct(2 / 4),
            few_recall=pct(1 / 2),
            many_precision=pct(3 / 5),
            medium_precision=pct(2 / 3),
            few_precision=pct(1 / 2),
            many_f1=pct(6 / 9),
            medium_f1=pct(4 / 7),
            few_f1=pct(2 / 4),
            many_f1_of_means=pct(2 / 3),
            recall=pct((3 / 4 + 1 / 2 + 1 / 2) / 3),
            precision=pct((3 / 5 + 2 / 3 + 1 / 2) / 3),
            f1=pct((2 / 3 + 4 / 7 + 1 / 2) / 3),
        ))
    assert r['per_class_tp'] == [3, 2, 1]
    assert r['per_class_gt_count'] == [4, 4, 2]
    assert r['per_class_pred_count'] == [5, 3, 2]
    assert all(type(v) is int for v in r['per_class_tp'])
    # The groups the averages were made of, for plots.
    assert r['per_class_train_count'] == list(COUNTS)
    assert r['per_class_group'] == ['many', 'medium', 'few']


def test_group_average_and_f1_of_means():
    # Two many-shot classes (200, 150), no medium, one few (1).
    counts = [200, 150, 1]
    gt = [0, 0, 1, 1, 1, 1, 2]
    pred = [0, 1, 1, 1, 0, 0, 2]
    # tp = [1, 2, 1], gt = [2, 4, 1], pred = [3, 3, 1]
    r = LongTailMetric.calculate(pred, gt, counts)
    many_r = (1 / 2 + 2 / 4) / 2
    many_p = (1 / 3 + 2 / 3) / 2
    assert_metrics(
        r,
        dict(
            many_recall=pct(many_r),
            many_precision=pct(many_p),
            many_f1=pct((2 / 5 + 4 / 7) / 2),
            many_f1_of_means=pct(2 * many_p * many_r / (many_p + many_r)),
            medium_recall=NAN,
            medium_precision=NAN,
            medium_f1=NAN,
            medium_f1_of_means=NAN,
            few_recall=100.,
            few_f1=100.,
        ))


@pytest.mark.parametrize(
    'convention, few_precision, precision, few_f1_of_means',
    [('zero', 0., pct((1 / 2 + 1 / 2 + 0) / 3), 0.),
     ('exclude', NAN, pct((1 / 2 + 1 / 2) / 2), NAN)])
def test_never_predicted_class(convention, few_precision, precision,
                               few_f1_of_means):
    gt = [0, 0, 1, 1, 2, 2]
    pred = [0, 0, 1, 0, 1, 0]  # class 2 never predicted
    # tp = [2, 1, 0], gt = [2, 2, 2], pred = [4, 2, 0]
    r = LongTailMetric.calculate(pred,
                                 gt,
                                 COUNTS,
                                 undefined_precision=convention)
    assert_metrics(
        r,
        dict(
            few_recall=0.,
            few_precision=few_precision,
            few_f1=0.,  # F1 from counts: 2*0 / (0 + 2), both conventions
            few_f1_of_means=few_f1_of_means,
            many_precision=pct(2 / 4),
            medium_precision=pct(1 / 2),
            precision=precision,
            recall=pct((1 + 1 / 2 + 0) / 3),
            f1=pct((4 / 6 + 2 / 4 + 0) / 3),
        ))


@pytest.mark.parametrize('convention', ['zero', 'exclude'])
def test_class_absent_from_gt(convention):
    gt = [0, 0, 1, 1]
    pred = [0, 2, 1, 1]  # class 2 absent from the gt, predicted once
    # tp = [1, 2, 0], gt = [2, 2, 0], pred = [1, 2, 1]
    r = LongTailMetric.calculate(pred,
                                 gt,
                                 COUNTS,
                                 undefined_precision=convention)
    assert_metrics(
        r,
        dict(
            few_recall=NAN,
            few_precision=0.,  # a false positive: defined, 0
            few_f1=0.,
            recall=pct((1 / 2 + 1) / 2),
            precision=pct((1 + 1 + 0) / 3),
            f1=pct((2 / 3 + 1 + 0) / 3),
            top1=pct(3 / 4),
        ))


@pytest.mark.parametrize('convention', ['zero', 'exclude'])
def test_class_absent_everywhere_is_left_out(convention):
    r = LongTailMetric.calculate([0, 1], [0, 1],
                                 COUNTS,
                                 undefined_precision=convention)
    assert_metrics(
        r,
        dict(few_recall=NAN,
             few_precision=NAN,
             few_f1=NAN,
             recall=100.,
             precision=100.,
             f1=100.,
             f1_of_means=100.))


# counts:      0    1    2    3   4   5  6
THR_COUNTS = [150, 101, 100, 50, 20, 19, 5]


@pytest.mark.parametrize('many_thr, few_thr, many, medium, few', [
    (100, 20, (0, 1), (2, 3, 4), (5, 6)),
    (50, 20, (0, 1, 2), (3, 4), (5, 6)),
    (100, 100, (0, 1), (2, ), (3, 4, 5, 6)),
    (10, 6, (0, 1, 2, 3, 4, 5), (), (6, )),
    (200, 0, (), (0, 1, 2, 3, 4, 5, 6), ()),
])
def test_thresholds(many_thr, few_thr, many, medium, few):
    # class c: 10 test images, c + 1 of them right, the others -> c + 1.
    num = len(THR_COUNTS)
    gt = np.repeat(np.arange(num), 10)
    pred = gt.copy()
    for c in range(num):
        pred[c * 10 + c + 1:(c + 1) * 10] = (c + 1) % num
    r = LongTailMetric.calculate(pred,
                                 gt,
                                 THR_COUNTS,
                                 many_thr=many_thr,
                                 few_thr=few_thr)
    for name, members in (('many', many), ('medium', medium), ('few', few)):
        expected = (np.mean([(c + 1) * 10
                             for c in members]) if members else NAN)
        assert_metrics(r, {f'{name}_recall': expected})


def _as(kind, values):
    if kind == 'list':
        return list(values)
    if kind == 'tuple':
        return tuple(values)
    if kind == 'numpy64':
        return np.asarray(values, dtype=np.int64)
    if kind == 'numpy32':
        return np.asarray(values, dtype=np.int32)
    if kind == 'torch':
        return torch.tensor(values)
    if kind == 'torch_float':
        return torch.tensor(values, dtype=torch.float32)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    'kind', ['list', 'tuple', 'numpy64', 'numpy32', 'torch', 'torch_float'])
def test_input_types(kind):
    gt = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    pred = [0, 0, 0, 1, 1, 1, 0, 2, 0, 2]
    ref = LongTailMetric.calculate(pred, gt, COUNTS)
    r = LongTailMetric.calculate(_as(kind, pred), _as(kind, gt),
                                 _as(kind, COUNTS))
    assert r == ref


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_agrees_with_mmpretrain(seed):
    rng = np.random.default_rng(seed)
    num_classes = 10
    gt = rng.permutation(np.tile(np.arange(num_classes), 30))  # all present
    # odd seeds: the last class is never predicted.
    high = num_classes - seed % 2
    pred = np.where(
        rng.random(gt.size) < 0.4, gt, rng.integers(0, high, gt.size))
    pred[pred >= high] = 0
    counts = rng.integers(1, 300, num_classes)
    r = LongTailMetric.calculate(pred, gt, counts)
    acc = Accuracy.calculate(torch.from_numpy(pred), torch.from_numpy(gt))
    precision, recall, f1, _ = SingleLabelMetric.calculate(
        torch.from_numpy(pred), torch.from_numpy(gt), num_classes=num_classes)
    assert r['top1'] == pytest.approx(acc.item(), rel=1e-5)
    assert r['recall'] == pytest.approx(recall.item(), rel=1e-5)
    assert r['precision'] == pytest.approx(precision.item(), rel=1e-5)
    assert r['f1'] == pytest.approx(f1.item(), rel=1e-5)


def _samples(pred, gt, with_label=True):
    out = []
    for p, g in zip(pred, gt):
        score = torch.full((len(COUNTS), ), 0.1)
        score[p] = 0.8
        sample = DataSample().set_gt_label(g).set_pred_score(score)
        if with_label:
            sample.set_pred_label(p)
        out.append(sample)
    return out


@pytest.mark.parametrize('with_label', [True, False])
def test_evaluator_path_with_data_samples(with_label):
    gt = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    pred = [0, 0, 0, 1, 1, 1, 0, 2, 0, 2]
    metric = LongTailMetric(undefined_precision='exclude')
    evaluator = Evaluator(metrics=metric)
    evaluator.dataset_meta = dict(classes=('a', 'b', 'c'),
                                  train_class_counts=tuple(COUNTS))
    for start in range(0, len(gt), 4):  # batches of 4
        stop = start + 4
        evaluator.process(
            _samples(pred[start:stop], gt[start:stop], with_label))
    assert all(isinstance(x, tuple) and len(x) == 2 for x in metric.results)
    result = evaluator.evaluate(len(gt))
    expected = LongTailMetric.calculate(pred,
                                        gt,
                                        COUNTS,
                                        undefined_precision='exclude')
    assert result == {f'lt/{k}': v for k, v in expected.items()}
    assert list(result)[0] == 'lt/top1'  # save_best='auto' picks it
    assert metric.results == []


def test_evaluate_drops_padding():
    gt = [0, 1, 2]
    pred = [0, 1, 2]
    metric = LongTailMetric(train_class_counts=COUNTS, prefix='x')
    metric.process(None, [s.to_dict() for s in _samples(pred, gt)])
    # the sampler pads with wrong duplicates: must be dropped by size.
    metric.process(None, [s.to_dict() for s in _samples([1, 1], [0, 0])])
    result = metric.evaluate(size=3)
    assert result['x/top1'] == 100.
    assert result['x/per_class_gt_count'] == [1, 1, 1]


def test_constructor_counts_override_meta():
    metric = LongTailMetric(train_class_counts=[5, 5, 5])
    metric.dataset_meta = dict(train_class_counts=COUNTS)
    metric.process(None, [s.to_dict() for s in _samples([0, 1], [0, 1])])
    result = metric.evaluate(2)
    assert math.isnan(result['lt/many_recall'])
    assert result['lt/few_recall'] == 100.


@pytest.mark.parametrize('meta', [None, dict(classes=('a', 'b', 'c'))])
def test_missing_counts_error(meta):
    metric = LongTailMetric()
    if meta is not None:
        metric.dataset_meta = meta
    metric.process(None, [s.to_dict() for s in _samples([0], [0])])
    with pytest.raises(KeyError, match='train_class_counts'):
        metric.evaluate(1)


def test_meta_length_mismatch():
    metric = LongTailMetric()
    metric.dataset_meta = dict(classes=('a', 'b'), train_class_counts=COUNTS)
    metric.process(None, [s.to_dict() for s in _samples([0], [0])])
    with pytest.raises(ValueError, match='2 classes but 3'):
        metric.evaluate(1)


@pytest.mark.parametrize('kwargs, match', [
    (dict(undefined_precision='nan'), 'undefined_precision'),
    (dict(many_thr=10, few_thr=20), 'few_thr'),
])
def test_invalid_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LongTailMetric(**kwargs)
    with pytest.raises(ValueError, match=match):
        LongTailMetric.calculate([0], [0], COUNTS, **kwargs)


@pytest.mark.parametrize('pred, gt, match', [
    ([0, 3], [0, 1], 'pred_labels'),
    ([0, 1], [0, -1], 'gt_labels'),
    ([0], [0, 1], '1 predictions but 2'),
    ([], [], 'empty'),
    ([[0]], [[0]], 'one-dimensional'),
])
def test_invalid_inputs(pred, gt, match):
    with pytest.raises(ValueError, match=match):
        LongTailMetric.calculate(pred, gt, COUNTS)


def test_registry_build():
    metric = METRICS.build(
        dict(type='LongTailMetric', many_thr=50,
             undefined_precision='exclude'))
    assert isinstance(metric, LongTailMetric)
    assert metric.prefix == 'lt'
    assert metric.many_thr == 50 and metric.few_thr == 20
    assert metric.undefined_precision == 'exclude'


def test_runner_val_and_test_log_non_scalars_and_nan(tmp_path):
    """A Runner val/test loop logs the per-class lists and NaN groups."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import Dataset

    class ToyDataset(Dataset):
        # class 2 is few-shot; medium group is empty -> NaN metrics.
        metainfo = dict(classes=('a', 'b', 'c'),
                        train_class_counts=(500, 300, 3))

        def __len__(self):
            return 6

        def __getitem__(self, idx):
            return dict(inputs=torch.tensor([float(idx % 3)]), label=idx % 3)

    class ToyModel(BaseModel):

        def __init__(self):
            super().__init__()
            self.param = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, label, mode='predict'):
            out = []
            for x, y in zip(inputs, label):
                pred = 0 if int(y) == 2 else int(y)  # class 2 never predicted
                out.append(DataSample().set_gt_label(
                    int(y)).set_pred_label(pred))
            return out

    loader = dict(dataset=ToyDataset(),
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4,
                  num_workers=0)
    runner = Runner(model=ToyModel(),
                    work_dir=str(tmp_path),
                    val_dataloader=loader,
                    val_cfg=dict(),
                    val_evaluator=dict(type='LongTailMetric'),
                    test_dataloader=loader,
                    test_cfg=dict(),
                    test_evaluator=dict(type='LongTailMetric'),
                    default_scope='xerm_mm',
                    default_hooks=dict(checkpoint=None),
                    env_cfg=dict(dist_cfg=dict(backend='gloo')),
                    experiment_name='lt_metric_runner_test')
    val = runner.val()
    assert val['lt/top1'] == pytest.approx(pct(4 / 6))
    assert math.isnan(val['lt/medium_recall'])
    assert val['lt/per_class_pred_count'] == [4, 2, 0]
    test = runner.test()
    assert test['lt/per_class_tp'] == [2, 2, 0]
    logged = list(tmp_path.rglob('*.json'))
    assert logged, 'the test loop wrote no json log'
    text = logged[0].read_text()
    assert 'lt/per_class_gt_count' in text
    assert json.loads(text.splitlines()[-1])['lt/top1'] == pytest.approx(
        pct(4 / 6))
