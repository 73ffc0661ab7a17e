"""tools/analysis_tools/distribution_sweep.py on a tiny DigitsLT model.

The XE checkpoint is tested by the sweep as XE and, through the PC config,
as PC; its numbers are compared with tools/test.py's own.
"""
import json

import pytest

from inprocess_tool import run_main
from trained_digits import (CONFIGS, figure_numbers, trained_checkpoint,
                            xe_pc_metrics)

pytestmark = pytest.mark.usefixtures('one_thread')

SWEEP = 'analysis_tools/distribution_sweep'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return trained_checkpoint('XE', tmp_path_factory)


@pytest.fixture(scope='module')
def metrics_files(tmp_path_factory):
    return xe_pc_metrics(tmp_path_factory)


@pytest.fixture(scope='module')
def sweep(checkpoint, tmp_path_factory):
    """The sweep of XE and PC over IB 100 and 10: (numbers, work dir)."""
    work = tmp_path_factory.mktemp('sweep')
    numbers, _ = run_main(SWEEP, *_sweep_args(checkpoint), '--work-dir',
                          work)
    return numbers, work


def _sweep_args(checkpoint):
    args = ['--ratios', '10', '100']
    for name in ('XE', 'PC'):
        args += ['--model', name, CONFIGS[name], checkpoint]
    return args


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


def test_sweep_is_deterministic_and_its_model_options_reach_one_model(
        sweep, checkpoint, tmp_path):
    numbers, work = sweep
    saved = figure_numbers(work, 'distribution_sweep')
    assert saved == json.loads(json.dumps(numbers))
    # Again, PC with tau 0 (--model-options): PC becomes XE, whose top-1 is
    # unchanged (deterministic).
    again, out = run_main(SWEEP, *_sweep_args(checkpoint), '--work-dir',
                          tmp_path / 'work', '--out-dir', tmp_path / 'fig',
                          '--model-options', 'PC', 'model.head.tau=0')
    figure_numbers(tmp_path / 'fig', 'distribution_sweep')
    for name in ('XE', 'PC'):
        assert again['models'][name]['top1'] == numbers['models']['XE'][
            'top1']
    assert numbers['models']['PC']['top1'] != numbers['models']['XE'][
        'top1']
    assert out.count('model.head.tau=0') == 1  # PC's test command only
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
