"""xerm_mm.report.figures: the pictures of a report, from the metrics files
of fake evaluations: no model, no test run."""
import json
import os
import re
import shlex

import numpy as np
import pytest

from inprocess_tool import run_main
from xerm_mm.analysis.sweep_sets import sets_of_names, sweep_sets
from xerm_mm.report import (build_report, split_by_test_set,
                            write_metrics_json, write_report)

TRAIN = [124, 74, 44, 26, 16, 9, 5, 3, 2, 1]  # DigitsLT IB 100
GROUPS = ['many'] * 4 + ['medium'] * 3 + ['few'] * 3
SETS = {'balanced': 1, 'ib100': 100, 'ib10': 10, 'ib10_bwd': 10}
METHODS = ('XE', 'TDE', 'xERM-TDE')
HISTOGRAM = 'analysis_tools/prediction_histogram'


def fake_metrics(seed: int) -> dict:
    """What tools/test.py --metrics-out writes, per test set: random but
    consistent counts (tp <= gt, predictions summing to the images)."""
    rng = np.random.default_rng(seed)
    metrics = {}
    for name, ratio in SETS.items():
        gt = [max(1, round(50 * ratio**(-i / 9))) for i in range(10)]
        if name.endswith('_bwd'):
            gt = gt[::-1]
        tp = [int(rng.integers(0, g + 1)) for g in gt]
        wrong = sum(gt) - sum(tp)
        extra = rng.multinomial(wrong, np.full(10, 0.1)).tolist()
        pred = [t + e for t, e in zip(tp, extra)]
        for key, value in dict(
                top1=100 * sum(tp) / sum(gt), per_class_pred_count=pred,
                per_class_gt_count=gt, per_class_tp=tp,
                per_class_train_count=TRAIN,
                per_class_group=GROUPS).items():
            metrics[f'{name}/lt/{key}'] = value
    return metrics


@pytest.fixture(scope='module')
def evaluation(tmp_path_factory):
    """A report of fake evaluations, their metrics files in eval/."""
    work = tmp_path_factory.mktemp('report') / 'work'
    files, results = {}, {}
    for seed, method in enumerate(METHODS):
        files[method] = str(work / 'eval' / f'{method}.json')
        metrics = fake_metrics(seed)
        write_metrics_json(metrics, files[method])
        results[method] = split_by_test_set(metrics)
    sources = dict(
        metrics_files=files,
        configs={m: f'xerm_mm::{m.lower()}.py' for m in METHODS},
        options={m: ['model.head.alpha=1.25'] if m == 'TDE' else []
                 for m in METHODS},
        data_root='data/digits', cfg_options=['train_cfg.max_epochs=1'])
    checkpoints = {m: dict(file=f'{work}/{m}/epoch_1.pth', sha256='ab' * 32)
                   for m in METHODS}
    report = build_report(results, checkpoints=checkpoints,
                          backward_sets=['ib10_bwd'], sources=sources)
    return report, str(work), results


@pytest.fixture(scope='module')
def written(evaluation):
    """The report of :func:`evaluation`, written with its pictures:
    (report, work dir, results, Markdown)."""
    report, work, results = evaluation
    return report, work, results, write_report(report, work)


def commands(markdown: str) -> list:
    """The commands of the report's bash blocks, each on one line."""
    return [block.replace(' \\\n    ', ' ') for block in
            re.findall(r'```bash\n(.*?)\n```', markdown, re.S)]


def test_figures_written_linked_and_commanded(written):
    report, work, _, markdown = written
    names = ['prediction_histogram_balanced', 'prediction_histogram_ib100',
             'unbiasedness_curve']
    for name in names:
        for ext in ('png', 'pdf', 'json'):
            assert os.path.getsize(f'{work}/figures/{name}.{ext}') > 0
        assert f'(figures/{name}.png)' in markdown
    lines = markdown.splitlines()
    # Each section's pictures after its tables, before the next section.
    heading = [i for i, line in enumerate(lines) if line.startswith('## ')]
    at = {name: next(i for i, line in enumerate(lines)
                     if f'figures/{name}.png' in line) for name in names}
    assert heading[0] < at[names[0]] < heading[1] < at[names[1]] < \
        at[names[2]] < heading[2]
    histogram, _, sweep = commands(markdown)
    assert histogram == (
        f'python tools/analysis_tools/prediction_histogram.py --model XE '
        f'{work}/eval/XE.json --model TDE {work}/eval/TDE.json --model '
        f'xERM-TDE {work}/eval/xERM-TDE.json --test-set balanced '
        f'--imbalanced-set ib100 --out-dir {work}/figures --name '
        'prediction_histogram_balanced')
    assert sweep.startswith(
        'python tools/analysis_tools/distribution_sweep.py --model XE '
        f'xerm_mm::xe.py {work}/XE/epoch_1.pth --model TDE')
    # The pipeline's ratios and the sweep's default ones.
    assert '--ratios 100 50 10 5 2 --data-root data/digits --cfg-options ' \
        'train_cfg.max_epochs=1 ' in sweep
    # An evaluation's own options (a chosen alpha) for that model only.
    assert ' --model-options TDE model.head.alpha=1.25 --work-dir ' in sweep
    assert sweep.count('--model-options') == 1
    saved = json.load(open(f'{work}/report.json'))
    assert [e['name'] for e in saved['figures']['imbalanced']] == names[1:]
    assert saved['figures']['balanced'][0]['command'].replace(
        ' \\\n    ', ' ') == histogram


def test_histogram_numbers_are_the_metrics_and_the_tools(written):
    report, work, results, markdown = written
    numbers = json.load(
        open(f'{work}/figures/prediction_histogram_balanced.json'))
    for method, sets in results.items():
        model = numbers['models'][method]
        row = sets['balanced']
        order = np.argsort(-np.array(TRAIN), kind='stable').tolist()
        assert model['counts']['class'] == order
        for key, metric in (('pred_count', 'per_class_pred_count'),
                            ('gt_count', 'per_class_gt_count'),
                            ('tp', 'per_class_tp')):
            assert model['counts'][key] == [row[metric][c] for c in order]
        many = model['groups']['ib100']['many']
        ib100 = sets['ib100']
        assert many['tp'] == sum(ib100['per_class_tp'][:4])
        assert many['fp'] == sum(ib100['per_class_pred_count'][:4]) - \
            many['tp']
    # The command under the picture redraws it: the same numbers.
    argv = shlex.split(commands(markdown)[0])[2:]
    argv[argv.index('--out-dir') + 1] = f'{work}/again'
    redrawn, _ = run_main(HISTOGRAM, *argv)
    assert json.loads(json.dumps(redrawn)) == numbers


def test_curve_values_are_table4_in_sweep_order(written):
    report, work, _, _ = written
    numbers = json.load(open(f'{work}/figures/unbiasedness_curve.json'))
    sets = [s['name'] for s in numbers['test_sets']]
    assert sets == ['ib100', 'ib10', 'balanced', 'ib10_bwd']
    assert [s['label'] for s in numbers['test_sets']] == [
        '100\nfwd', '10\nfwd', '1\nbalanced', '10\nbwd']
    for method, row in report['table4'].items():
        assert numbers['models'][method]['top1'] == {s: row[s] for s in sets}


def test_a_failing_drawing_keeps_the_report(evaluation, tmp_path,
                                            monkeypatch):
    report, _, _ = evaluation
    work = str(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError('matplotlib broke')

    monkeypatch.setattr('xerm_mm.analysis.prediction_histogram_figure',
                        broken)
    markdown = write_report(report, work)
    assert ('> **Warning:** figure `prediction_histogram_balanced` was not '
            'drawn: RuntimeError: matplotlib broke') in markdown
    assert '| XE |' in markdown and '## What the tables show' in markdown
    assert '(figures/unbiasedness_curve.png)' in markdown  # the other one
    assert not os.path.exists(
        f'{work}/figures/prediction_histogram_balanced.png')
    assert open(f'{work}/report.md').read() == markdown
    saved = json.load(open(f'{work}/report.json'))
    assert saved['figures']['balanced'][0]['error'] == (
        'RuntimeError: matplotlib broke')


def test_metrics_without_per_class_counts_say_so(tmp_path):
    results = {'XE': {'balanced': dict(top1=40.0), 'ib100': dict(top1=60.0)}}
    markdown = write_report(build_report(results), str(tmp_path))
    assert "XE has no ['per_class_pred_count'" in markdown
    assert '(figures/unbiasedness_curve.png)' in markdown
    assert '```bash' not in markdown  # no sources recorded: no commands


def test_test_set_names_in_sweep_order():
    names = ['balanced', 'ib10_bwd', 'ib2p5', 'ib100', 'ib50', 'test']
    sets, left_out = sets_of_names(names, backward=['ib50'])
    assert [s.name for s in sets] == [
        'ib100', 'ib2p5', 'balanced', 'ib10_bwd', 'ib50']
    assert [s.imbalance_ratio for s in sets] == [100, 2.5, 1, 10, 50]
    assert left_out == ['test']
    # The sweep tool's own sets read back as themselves.
    swept = sweep_sets([100, 10, 2.5])
    assert sets_of_names([s.name for s in reversed(swept)])[0] == swept
