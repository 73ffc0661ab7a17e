"""tools/analysis_tools on a tiny DigitsLT model.

One XE model is trained for one epoch (module fixture, in this process) and
tested by tools/test.py as XE and, through the PC config, as PC; the tools
read those metrics files or run tools/test.py themselves.
"""
import json
import os.path as osp

import pytest

from conftest import ROOT
from inprocess_tool import run_main
from xerm_mm.analysis import class_order, group_counts, sorted_counts
from xerm_mm.analysis.sweep_sets import sweep_sets, sweep_set_options

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIGS = {
    'XE': osp.join(ROOT, 'configs/xe/xe_bbn-resnet32_1xb16-16e_digitslt-'
                   'ib100.py'),
    'PC': osp.join(ROOT, 'configs/pc/pc_bbn-resnet32_1xb16-16e_digitslt-'
                   'ib100.py'),
}
HISTOGRAM = 'analysis_tools/prediction_histogram'
SWEEP = 'analysis_tools/test_agnostic_sweep'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """XE trained one epoch on DigitsLT IB 100 (19 steps of batch 16)."""
    work = tmp_path_factory.mktemp('xe')
    run_main('train', CONFIGS['XE'], '--work-dir', work, '--no-validate',
             '--cfg-options', 'train_cfg.max_epochs=1')
    return str(work / 'epoch_1.pth')


@pytest.fixture(scope='module')
def metrics_files(checkpoint, tmp_path_factory):
    """tools/test.py --metrics-out of XE and PC: {name: (path, metrics)}.

    Also ``--out {name}.pkl --out-item metrics`` (the same metrics).
    """
    folder = tmp_path_factory.mktemp('metrics')
    files = {}
    for name, config in CONFIGS.items():
        path = str(folder / f'{name}.json')
        run_main('test', config, checkpoint, '--work-dir', folder / name,
                 '--metrics-out', path, '--out', folder / f'{name}.pkl',
                 '--out-item', 'metrics', '--test-sets', 'balanced', 'ib100')
        files[name] = (path, json.load(open(path)))
    return files


@pytest.fixture(scope='module')
def sweep(checkpoint, tmp_path_factory):
    """The sweep of XE and PC over IB 100 and 10: (numbers, work dir)."""
    work = tmp_path_factory.mktemp('sweep')
    numbers, _ = run_main(SWEEP, *_sweep_args(checkpoint), '--work-dir',
                          work)
    return numbers, work


def _sweep_args(checkpoint):
    args = ['--ratios', '10', '100']
    for name, config in CONFIGS.items():
        args += ['--model', name, config, checkpoint]
    return args


def _outputs_exist(folder, name):
    png = osp.join(folder, f'{name}.png')
    assert open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.getsize(png) > 10000
    assert open(osp.join(folder, f'{name}.pdf'), 'rb').read(5) == b'%PDF-'
    return json.load(open(osp.join(folder, f'{name}.json')))


def test_histogram_counts_are_the_metrics_json(metrics_files, tmp_path):
    # XE from the pickle of --out --out-item metrics, PC from the JSON.
    args = []
    for name, (path, _) in metrics_files.items():
        args += ['--model', name, path.replace('XE.json', 'XE.pkl')]
    numbers, out = run_main(HISTOGRAM, *args, '--out-dir', tmp_path)
    assert 'PC: few-shot on balanced: TP ' in out
    assert _outputs_exist(tmp_path, 'prediction_histogram') == json.loads(
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


def test_prediction_counts_order_and_groups():
    row = dict(per_class_train_count=[5, 50, 50, 200],
               per_class_group=['few', 'medium', 'medium', 'many'],
               per_class_gt_count=[4, 4, 4, 4],
               per_class_pred_count=[1, 3, 2, 10],
               per_class_tp=[1, 2, 1, 4])
    assert class_order(row['per_class_train_count']) == [3, 1, 2, 0]
    counts = sorted_counts(row)
    assert counts['class'] == [3, 1, 2, 0]
    assert counts['pred_count'] == [10, 3, 2, 1]
    assert counts['fp'] == [6, 1, 1, 0]
    assert counts['group'] == ['many', 'medium', 'medium', 'few']
    groups = group_counts(row)
    assert groups['medium'] == dict(classes=2, gt=8, pred=5, tp=3, fp=2)
    assert groups['many'] == dict(classes=1, gt=4, pred=10, tp=4, fp=6)


def test_sweep_sets_forward_balanced_backward():
    sets = sweep_sets([10, 2.5, 100])
    assert [s.name for s in sets] == [
        'ib100', 'ib10', 'ib2p5', 'balanced', 'ib2p5_bwd', 'ib10_bwd',
        'ib100_bwd'
    ]
    assert [s.reverse for s in sets] == [False] * 4 + [True] * 3
    assert sweep_set_options(sets[-1:]) == [
        'test_cfg.test_sets.ib100_bwd.imbalance_ratio=100',
        'test_cfg.test_sets.ib100_bwd.reverse=True'
    ]
    for bad in ([1], [10, 10], [float('inf')]):
        with pytest.raises(ValueError, match='--ratios'):
            sweep_sets(bad)


def test_sweep_top1_is_test_py_s(sweep, metrics_files, checkpoint,
                                 tmp_path):
    numbers, work = sweep
    assert [s['name'] for s in numbers['test_sets']] == [
        'ib100', 'ib10', 'balanced', 'ib10_bwd', 'ib100_bwd'
    ]
    # The config's own sets, tested by tools/test.py alone.
    for name, (_, metrics) in metrics_files.items():
        for test_set in ('balanced', 'ib100'):
            assert numbers['models'][name]['top1'][test_set] == \
                metrics[f'{test_set}/lt/top1']
    # A backward set, as a plain test dataset of tools/test.py.
    metrics, _ = run_main('test', CONFIGS['XE'], checkpoint, '--work-dir',
                          tmp_path, '--cfg-options',
                          'test_dataloader.dataset.imbalance_ratio=10',
                          'test_dataloader.dataset.reverse=True',
                          'test_cfg.test_sets=None')
    assert numbers['models']['XE']['top1']['ib10_bwd'] == \
        metrics['test/lt/top1']
    # The backward set has the fewest images of the most trained digit.
    swept = json.load(open(numbers['models']['XE']['metrics_file']))
    gt = swept['ib10_bwd/lt/per_class_gt_count']
    assert gt == sorted(gt) and gt[0] < gt[-1] == 50
    assert metrics['test/lt/per_class_gt_count'] == gt


def test_sweep_is_deterministic_and_writes_its_figure(sweep, checkpoint,
                                                      tmp_path):
    numbers, work = sweep
    saved = _outputs_exist(work, 'test_agnostic_sweep')
    assert saved == json.loads(json.dumps(numbers))
    again, out = run_main(SWEEP, *_sweep_args(checkpoint), '--work-dir',
                          tmp_path / 'work', '--out-dir', tmp_path / 'fig')
    _outputs_exist(tmp_path / 'fig', 'test_agnostic_sweep')
    for name in ('XE', 'PC'):
        assert again['models'][name]['top1'] == numbers['models'][name][
            'top1']
    assert '| method | ib100 | ib10 | balanced | ib10_bwd | ib100_bwd | ' \
        'mean |' in out
    # Each model's tools/test.py command is printed.
    assert out.count('[sweep] ') == 2 and '--test-sets ib100 ib10' in out


@pytest.mark.parametrize('base, body, match', [
    ('PC', "test_cfg = dict(views=['imbalanced', 'balanced'])",
     r'bad.py.*test_cfg.views'),
    ('XE', 'test_cfg = dict(_delete_=True)', r'bad.py.*MultiTestLoop'),
])
def test_sweep_refuses_configs_it_cannot_sweep(checkpoint, tmp_path, base,
                                               body, match):
    config = tmp_path / 'bad.py'
    config.write_text(f'_base_ = {CONFIGS[base]!r}\n{body}\n')
    with pytest.raises(ValueError, match=match):
        run_main(SWEEP, '--model', base, config, checkpoint, '--work-dir',
                 tmp_path)


def test_sweep_model_options_reach_that_model_only(sweep, checkpoint,
                                                   tmp_path):
    numbers, _ = sweep
    # PC with tau 0 is XE: its top-1 becomes XE's, and XE's is unchanged.
    again, out = run_main(SWEEP, *_sweep_args(checkpoint), '--work-dir',
                          tmp_path, '--model-options', 'PC',
                          'model.head.tau=0')
    for name in ('XE', 'PC'):
        assert again['models'][name]['top1'] == numbers['models']['XE'][
            'top1']
    assert numbers['models']['PC']['top1'] != numbers['models']['XE'][
        'top1']
    assert out.count('model.head.tau=0') == 1  # PC's test command only


def test_sweep_refuses_bad_arguments(checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        run_main(SWEEP, '--model', 'XE', CONFIGS['XE'],
                 tmp_path / 'nothing.pth', '--work-dir', tmp_path)
    for bad in (['--ratios', '1'], ['--model', 'XE', 'a.py', 'b.pth'],
                ['--model-options', 'TDE', 'model.head.tau=0'],
                ['--model-options', 'XE', 'model.head.tau']):
        with pytest.raises(SystemExit):
            run_main(SWEEP, '--model', 'XE', CONFIGS['XE'], checkpoint,
                     '--work-dir', tmp_path, *bad)
