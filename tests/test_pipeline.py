"""The whole method through tools/run_pipeline.py, on a tiny fake CIFAR-10."""
import json
import os.path as osp

import pytest

from conftest import run_tool, small_cifar10_config
from xerm_mm.apis.pipeline import build_report

BASES = {
    'xe': 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'pc': 'pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'tde': 'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_pc': 'xerm/xerm-pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_tde': 'xerm/xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
}

PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='tde', config={tde!r}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe'),
    dict(name='xerm_tde', config={xerm_tde!r}, teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='PC', stage='xe', config={pc!r}),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc'),
    dict(name='xERM-TDE', stage='xerm_tde'),
]
"""


@pytest.fixture(scope='module')
def pipeline_config(fake_cifar10_root, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('pipeline'))
    paths = {}
    for name in ('xe', 'pc', 'tde'):
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder)
    for name, teacher in (('xerm_pc', 'pc'), ('xerm_tde', 'tde')):
        # The teacher network is built from the small teacher config.
        extra = f'model.update(teacher=dict(config={paths[teacher]!r}))\n'
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder, extra)
    path = osp.join(folder, 'configs', 'pipeline.py')
    with open(path, 'w') as f:
        f.write(PIPELINE.format(**paths))
    return path, osp.join(folder, 'work')


def test_pipeline_runs_end_to_end_and_resumes(pipeline_config):
    config, work = pipeline_config
    stdout = run_tool('tools/run_pipeline.py', config, '--work-dir', work,
                      timeout=900)
    report = json.load(open(osp.join(work, 'report.json')))
    methods = ['XE', 'PC', 'TDE', 'xERM-PC', 'xERM-TDE']
    assert list(report['table1']) == methods
    assert list(report['table4']['xERM-TDE']) == ['balanced', 'ib10']
    for row in report['table1'].values():
        assert 0 <= row['top1'] <= 100
        assert 'few_recall' in row and 'many_f1' in row
    markdown = open(osp.join(work, 'report.md')).read()
    assert '| method | top1 | many_recall' in markdown
    assert '| xERM-TDE |' in stdout
    # The xERM stages were trained from the teachers' final checkpoints.
    log = open(osp.join(work, 'xerm_tde', 'pipeline.log')).read()
    assert osp.join(work, 'tde', 'epoch_1.pth') in log
    assert 'w_ba' in log
    # Run again: nothing is redone.
    again = run_tool('tools/run_pipeline.py', config, '--work-dir', work)
    assert again.count(': done (') == 4 + 5
    assert 'tools/train.py' not in again


def test_bad_pipeline_fails_before_any_training(pipeline_config, tmp_path):
    config, _ = pipeline_config
    text = open(config).read().replace("teacher='tde'", "teacher='tdee'")
    bad = tmp_path / 'bad_pipeline.py'
    bad.write_text(text)
    proc = run_tool('tools/run_pipeline.py', str(bad), '--work-dir',
                    str(tmp_path / 'work'), check=False)
    assert proc.returncode != 0
    assert "teacher 'tdee'" in proc.stderr
    assert not (tmp_path / 'work').exists()


def test_report_tables():
    results = {
        'XE': {
            'balanced': dict(top1=40.0, many_recall=68.0),
            'ib100': dict(top1=66.0)
        }
    }
    report = build_report(results)
    assert report['table1']['XE']['top1'] == 40.0
    assert report['table1']['XE']['many_recall'] == 68.0
    assert report['table1']['XE']['few_f1'] is None
    assert report['table4']['XE'] == {'balanced': 40.0, 'ib100': 66.0}
