"""Experiments through tools/run_pipeline.py on a tiny fake CIFAR-10.

One experiment is trained once per module (1 epoch per stage); later tests
copy its finished teacher stages into their own work dirs, where they are
kept, not trained again. run_pipeline's ``main()`` runs in-process; the
stages and evaluations are real ``tools/train.py`` / ``tools/test.py``
processes.
"""
import contextlib
import io
import json
import os
import os.path as osp
import re
import shutil

import pytest
import torch

from conftest import ROOT, tool_runs
from pipeline_setup import (PIPELINE, configs, copy_step,  # noqa: F401
                            one_stage_pipeline, run_pipeline)
from xerm_mm.apis import Experiment, launch
from xerm_mm.utils.atomic import sha256_of


# The two-network teacher form: XE gives the imbalanced view, TDE the
# balanced one; both stages come finished from the shared experiment. (The
# student is tested as any other: no evaluation here.)
TWO_NETWORKS = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='tde', config={tde!r}),
    dict(name='xerm_two', config={xerm_two!r},
         teachers=dict(imbalanced='xe', balanced='tde')),
]
"""


@pytest.fixture(scope='module')
def experiment(configs):
    """One trained experiment: (pipeline config, work dir, stdout, paths)."""
    folder, paths = configs
    config = osp.join(folder, 'configs', 'pipeline.py')
    with open(config, 'w') as f:
        f.write(PIPELINE.format(**paths))
    work = osp.join(folder, 'work')
    stdout = run_pipeline(config, '--work-dir', work)
    assert 'exit:' not in stdout, stdout[-5000:]
    return config, work, stdout, paths


def reuse_teachers(experiment, work: str) -> None:
    """Copy the finished xe and tde stages into ``work``."""
    for name in ('xe', 'tde'):
        shutil.copytree(osp.join(experiment[1], name), osp.join(work, name))


@pytest.mark.slow
def test_pipeline_runs_end_to_end_and_resumes(experiment):
    config, work, stdout, _ = experiment
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
    # The pictures beside the tables, each with the command that redraws it
    # (their numbers: tests/test_report_figures.py).
    for name in ('prediction_histogram_balanced', 'prediction_histogram_ib10',
                 'unbiasedness_curve'):
        assert osp.isfile(osp.join(work, 'figures', f'{name}.png'))
        assert f'](figures/{name}.png)' in markdown
    assert f'--model XE {osp.join(work, "eval", "XE.json")} ' in markdown
    assert 'Warning' not in markdown
    # The xERM stages were trained from the teachers' final checkpoints.
    log = open(osp.join(work, 'xerm_tde', 'pipeline.log')).read()
    assert osp.join(work, 'tde', 'epoch_1.pth') in log
    assert 'w_ba' in log
    # Run again: nothing is redone.
    again = run_pipeline(config, '--work-dir', work)
    assert again.count(': done (') == 4 + 5
    assert not tool_runs(again)
    assert '| xERM-TDE |' in again


@pytest.mark.slow
def test_multi_process_stage_and_evaluation(experiment):
    _, work, stdout, _ = experiment
    launched = [line for line in stdout.splitlines()
                if line.startswith('[experiment] ')]
    assert len(launched) == 4 + 5
    on_two = [line for line in launched if 'torch.distributed.run' in line]
    assert len(on_two) == 2
    assert all('--nproc_per_node 2' in line and line.endswith(
        '--launcher pytorch') for line in on_two)
    assert 'xerm_pc' in on_two[0] and 'xERM-PC' in on_two[1]
    log = open(osp.join(work, 'xerm_pc', 'pipeline.log')).read()
    assert 'Distributed training: True' in log
    # 79 training images, 40 per process at batch 16.
    assert 'Epoch(train) [1][3/3]' in log
    assert 'teacher loaded from' in log
    metrics = json.load(open(osp.join(work, 'eval', 'xERM-PC.json')))
    # 80 balanced test images over 2 processes: each counted exactly once.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10


@pytest.mark.slow
def test_two_network_teachers_from_installed_tools(experiment, tmp_path,
                                                  monkeypatch):
    """teachers=dict(imbalanced=, balanced=), the tools taken from the
    package's .mim/tools as in an installed package."""
    package = tmp_path / 'site-packages' / 'xerm_mm'
    shutil.copytree(osp.join(ROOT, 'tools'), package / '.mim' / 'tools')
    monkeypatch.setattr(launch, 'PACKAGE_DIR', str(package))
    _, _, _, paths = experiment
    work = str(tmp_path / 'work')
    reuse_teachers(experiment, work)
    config = tmp_path / 'two_networks.py'
    config.write_text(TWO_NETWORKS.format(**paths))
    stdout = run_pipeline(str(config), '--work-dir', work)
    assert 'exit:' not in stdout, stdout[-5000:]
    assert stdout.count(': done (') == 2  # xe and tde are kept
    assert str(package / '.mim' / 'tools' / 'train.py') in stdout
    log = open(osp.join(work, 'xerm_two', 'pipeline.log')).read()
    for role, stage in (('imbalanced_teacher', 'xe'),
                        ('balanced_teacher', 'tde')):
        loaded = f'{role} loaded from {osp.join(work, stage, "epoch_1.pth")}'
        assert loaded in log
    assert 'w_ba' in log
    assert osp.isfile(osp.join(work, 'xerm_two', 'epoch_1.pth'))


# Both students and their evaluations with the real tools, two at once
# (xerm_pc on one process: one of two would take both jobs).
STUDENTS_AT_ONCE = PIPELINE.replace(', nproc=2', '').split('evaluations')[0] + (
    "evaluations = [dict(name='xERM-PC', stage='xerm_pc'), "
    "dict(name='xERM-TDE', stage='xerm_tde')]\n")


@pytest.mark.slow
def test_two_students_train_at_once(experiment, tmp_path):
    work = str(tmp_path / 'work')
    reuse_teachers(experiment, work)
    config = tmp_path / 'students.py'
    config.write_text(STUDENTS_AT_ONCE.format(**experiment[3]))
    stdout = run_pipeline(str(config), '--work-dir', work, '--jobs', '2')
    assert 'exit:' not in stdout, stdout[-5000:]
    lines = stdout.splitlines()
    assert '[experiment] up to 2 steps at once (given)' in lines
    assert stdout.count(': done (') == 2  # xe and tde are kept
    launched = [i for i, line in enumerate(lines)
                if line.startswith('[experiment] ') and 'train.py' in line]
    ended = [i for i, line in enumerate(lines)
             if '(train) | ended after ' in line]
    assert len(launched) == len(ended) == 2
    assert launched[1] < ended[0]  # the second began before the first ended
    report = json.load(open(osp.join(work, 'report.json')))
    assert list(report['table1']) == ['xERM-PC', 'xERM-TDE']
    assert list(report['cost']['stages']) == STAGES
    for name in ('xerm_pc', 'xerm_tde'):
        log = open(osp.join(work, name, 'pipeline.log')).read()
        assert 'teacher loaded from' in log
        assert osp.isfile(osp.join(work, name, 'epoch_1.pth'))


STAGES = ['xe', 'tde', 'xerm_pc', 'xerm_tde']

TEACHER_AND_STUDENT = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe'),
]
evaluations = [dict(name='xERM-PC', stage='xerm_pc')]
"""


@pytest.mark.slow
def test_a_work_dir_with_spaces_commas_and_brackets(configs, tmp_path):
    # The teacher's checkpoint and config files are in the work dir, which
    # --cfg-options alone would split at the comma and squeeze.
    config = tmp_path / 'teacher_and_student.py'
    config.write_text(TEACHER_AND_STUDENT.format(**configs[1]))
    work = str(tmp_path / "runs 1, ['a']")
    argv = (str(config), '--work-dir', work, '--cfg-options',
            'train_cfg.max_epochs=1')
    stdout = run_pipeline(*argv)
    assert 'exit:' not in stdout, stdout[-5000:]
    log = open(osp.join(work, 'xerm_pc', 'pipeline.log')).read()
    teacher = osp.join(work, 'xe', 'epoch_1.pth')
    assert f'teacher loaded from {teacher}' in log
    assert osp.isfile(osp.join(work, 'xerm_pc', 'epoch_1.pth'))
    assert json.load(open(osp.join(work, 'eval', 'xERM-PC.json')))
    # Each test set's status line names its set.
    for test_set in ('balanced', 'ib10'):
        assert re.search(rf'xERM-PC \(test\) \| iter \d+/\d+, '
                         rf'{test_set}/lt/top1 \d', stdout), stdout[-3000:]
    # Run again: the records match, nothing is redone.
    again = run_pipeline(*argv)
    assert again.count(': done (') == 3, again[-3000:]
    assert not tool_runs(again)


@pytest.mark.slow
def test_stage_with_a_broken_final_checkpoint_is_not_done(
        experiment, tmp_path):
    work = str(tmp_path / 'work')
    copy_step(experiment, work, 'xe', 'XE')
    exp = Experiment(one_stage_pipeline(tmp_path, experiment[3]),
                     work_dir=work)
    assert exp._stage_state('xe', exp._stage_inputs('xe')) == 'done'
    final = osp.join(work, 'xe', 'epoch_1.pth')
    data = open(final, 'rb').read()
    with open(final, 'wb') as f:  # a truncated file (as main wrote them)
        f.write(data[:len(data) // 2])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert exp._stage_state('xe', exp._stage_inputs('xe')) == 'fresh'
    assert f'its final checkpoint {final} does not load' in out.getvalue()
    assert 'and the stage is trained again' in out.getvalue()
    assert not osp.exists(osp.join(work, 'xe'))
    assert [n for n in os.listdir(work) if n.startswith('xe.old-')]


@pytest.mark.slow
def test_retrained_stage_redoes_its_evaluation(experiment, tmp_path):
    """Other options for a stage: retrained, its evaluation redone, the
    report names the new checkpoint (main reused the epoch-1 metrics)."""
    paths = experiment[3]
    work = str(tmp_path / 'work')
    copy_step(experiment, work, 'xe', 'XE')
    same = run_pipeline(one_stage_pipeline(tmp_path, paths), '--work-dir',
                        work)
    assert same.count(': done (') == 2 and not tool_runs(same)
    first = json.load(open(osp.join(work, 'report.json')))
    assert first['checkpoints']['XE']['sha256'] == sha256_of(
        osp.join(work, 'xe', 'epoch_1.pth'))
    longer = one_stage_pipeline(
        tmp_path, paths, ", cfg_options={'train_cfg.max_epochs': 2}")
    out = run_pipeline(longer, '--work-dir', work)
    assert 'exit:' not in out, out[-3000:]
    assert 'stage xe: it was trained from other inputs' in out
    assert 'evaluation XE: its inputs changed' in out
    report = json.load(open(osp.join(work, 'report.json')))
    final = osp.join(work, 'xe', 'epoch_2.pth')
    assert report['checkpoints']['XE'] == dict(file=final,
                                               sha256=sha256_of(final))
    assert f'| XE | {final} | {sha256_of(final)[:12]} |' in open(
        osp.join(work, 'report.md')).read()
    manifest = json.load(open(osp.join(work, 'eval', 'XE.manifest.json')))
    assert manifest['inputs']['checkpoint']['sha256'] == sha256_of(final)
    assert report['results'] != first['results'] or (
        report['checkpoints'] != first['checkpoints'])


# -- what each step cost (issue 9) ------------------------------------------


@pytest.mark.slow
def test_report_records_the_cost_of_every_step(experiment):
    config, work, _, _ = experiment
    report = json.load(open(osp.join(work, 'report.json')))
    cost = report['cost']
    assert list(cost['stages']) == ['xe', 'tde', 'xerm_pc', 'xerm_tde']
    assert list(cost['evaluations']) == [
        'XE', 'PC', 'TDE', 'xERM-PC', 'xERM-TDE']
    exp = Experiment(config, work_dir=work)
    for name, row in cost['stages'].items():
        nproc = 2 if name == 'xerm_pc' else 1
        assert row['processes'] == nproc
        assert row['device'] == 'cpu' or row['device'].startswith('cuda')
        assert row['peak_rss_mib'] > 100  # a Python with torch, at least
        assert 0 < row['train_s'] < row['wall_s']
        assert row['images_per_s'] > 0 and row['resumed'] is False
        ckpt = torch.load(exp.final_checkpoint(name), weights_only=True)
        assert row['iterations'] == ckpt['meta']['iter']
        batch = exp.stage_config(name).train_dataloader.batch_size
        assert row['images'] == row['iterations'] * batch * nproc
        assert row['images_per_s'] == pytest.approx(
            row['images'] / row['train_s'], rel=1e-2)
        manifest = json.load(open(osp.join(work, name, 'manifest.json')))
        assert manifest['cost'] == row
    for name, row in cost['evaluations'].items():
        assert row['wall_s'] > 0 and row['peak_rss_mib'] > 100
        assert row['processes'] == (2 if name == 'xERM-PC' else 1)
        manifest = json.load(
            open(osp.join(work, 'eval', f'{name}.manifest.json')))
        assert manifest['cost'] == row
    markdown = open(osp.join(work, 'report.md')).read()
    assert '## Cost' in markdown
    assert ('| step | device | processes | wall time (s) | images/s | '
            'peak RSS (MiB) | peak CUDA (MiB) |') in markdown
    for name in ('xe (train)', 'xerm_pc (train)', 'xERM-PC (test)'):
        assert f'| {name} | ' in markdown
    # A rerun that finds everything done keeps the recorded numbers.
    again = run_pipeline(config, '--work-dir', work)
    assert not tool_runs(again)
    assert json.load(open(osp.join(work, 'report.json')))['cost'] == cost
    assert open(osp.join(work, 'report.md')).read() == markdown
