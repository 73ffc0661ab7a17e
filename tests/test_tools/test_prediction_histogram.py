"""tools/analysis_tools/prediction_histogram.py on tools/test.py's metrics of
a tiny DigitsLT model (as XE and, through the PC config, as PC)."""
import json

import pytest

from inprocess_tool import run_main
from trained_digits import figure_numbers, xe_pc_metrics

pytestmark = pytest.mark.usefixtures('one_thread')

HISTOGRAM = 'analysis_tools/prediction_histogram'


@pytest.fixture(scope='module')
def metrics_files(tmp_path_factory):
    return xe_pc_metrics(tmp_path_factory)


def test_histogram_counts_are_the_metrics_json(metrics_files, tmp_path):
    # XE from the pickle of --out --out-item metrics, PC from the JSON.
    args = []
    for name, (path, _) in metrics_files.items():
        args += ['--model', name, path.replace('XE.json', 'XE.pkl')]
    numbers, out = run_main(HISTOGRAM, *args, '--out-dir', tmp_path)
    assert 'PC: few-shot on balanced: TP ' in out
    assert figure_numbers(tmp_path, 'prediction_histogram') == json.loads(
        json.dumps(numbers))
    assert numbers['imbalanced_set'] == 'ib100'  # the file's other set
    assert numbers['models']['XE']['metrics_file'].endswith('XE.pkl')
    for name, (_, metrics) in metrics_files.items():
        model = numbers['models'][name]
        counts = model['counts']
        train = metrics['balanced/lt/per_class_train_count']
        # DigitsLT IB 100 trains digit 0 most, 9 least.
        assert train == [124, 74, 44, 26, 16, 9, 5, 3, 2, 1]
        assert counts['class'] == list(range(10))
        for key, metric in (('pred_count', 'per_class_pred_count'),
                            ('gt_count', 'per_class_gt_count'),
                            ('tp', 'per_class_tp')):
            assert counts[key] == metrics[f'balanced/lt/{metric}']
        assert model['top1'] == metrics['balanced/lt/top1']
        # TP / FP per group, summed here from the metrics' lists.
        for test_set in ('balanced', 'ib100'):
            pred = metrics[f'{test_set}/lt/per_class_pred_count']
            tp = metrics[f'{test_set}/lt/per_class_tp']
            groups = metrics[f'{test_set}/lt/per_class_group']
            for group in ('many', 'medium', 'few'):
                members = [c for c in range(10) if groups[c] == group]
                assert model['groups'][test_set][group] == dict(
                    classes=len(members),
                    gt=sum(metrics[f'{test_set}/lt/per_class_gt_count'][c]
                           for c in members),
                    pred=sum(pred[c] for c in members),
                    tp=sum(tp[c] for c in members),
                    fp=sum(pred[c] - tp[c] for c in members))
    assert numbers['tp_fp_panels'] == [
        dict(group='few', test_set='balanced'),
        dict(group='many', test_set='ib100')
    ]


def test_histogram_refuses_what_it_cannot_plot(metrics_files, tmp_path):
    path, metrics = metrics_files['XE']
    with pytest.raises(KeyError, match=r"has no test set 'ib5'.*"
                       r"\['balanced', 'ib100'\].*--imbalanced-set"):
        run_main(HISTOGRAM, '--model', 'XE', path, '--imbalanced-set',
                 'ib5', '--out-dir', tmp_path)
    old = {k: v for k, v in metrics.items() if 'per_class_group' not in k}
    old_path = tmp_path / 'old.json'
    old_path.write_text(json.dumps(old))
    with pytest.raises(KeyError, match=r"old.json.*per_class_group.*"
                       '--metrics-out'):
        run_main(HISTOGRAM, '--model', 'XE', old_path, '--out-dir', tmp_path)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        run_main(HISTOGRAM, '--model', 'XE', tmp_path / 'missing.json',
                 '--out-dir', tmp_path)
    with pytest.raises(SystemExit):
        run_main(HISTOGRAM, '--model', 'XE', path, '--model', 'XE', path,
                 '--out-dir', tmp_path)
