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
import runpy
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, small_cifar10_config, tool_runs
from lt_tree import write_pretrained_stand_ins
from xerm_mm.apis import Experiment, ExperimentError, build_report, find_tools
from xerm_mm.apis import launch
from xerm_mm.apis.launch import tool_command
from xerm_mm.apis.manifest import checkpoint_problem
from xerm_mm.apis.process import WorkDirLock
from xerm_mm.utils.atomic import sha256_of

BASES = {
    'xe': 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'pc': 'pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'tde': 'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_pc': 'xerm/xerm-pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_tde': 'xerm/xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
}

# xerm_pc and its evaluation run on two processes (torchrun, gloo).
PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='tde', config={tde!r}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe', nproc=2),
    dict(name='xerm_tde', config={xerm_tde!r}, teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='PC', stage='xe', config={pc!r}),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc', nproc=2),
    dict(name='xERM-TDE', stage='xerm_tde'),
]
"""

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


def run_pipeline(*argv) -> str:
    """tools/run_pipeline.py's main() in-process: its stdout, or the exit
    message."""
    main = runpy.run_path(osp.join(ROOT, 'tools', 'run_pipeline.py'))['main']
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as mp:
        # One thread per tool process, as conftest's run_tool.
        mp.setenv('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', '1'))
        try:
            main(list(argv))
        except SystemExit as e:
            return f'{out.getvalue()}\nexit: {e.code}'
    return out.getvalue()


@pytest.fixture(scope='module')
def configs(fake_cifar10_root, tmp_path_factory):
    """Tiny configs of every stage: (folder, {stage: config path})."""
    folder = str(tmp_path_factory.mktemp('experiment'))
    paths = {}
    for name in ('xe', 'pc', 'tde'):
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder)
    for name, teacher in (('xerm_pc', 'pc'), ('xerm_tde', 'tde')):
        # The teacher network is built from the small teacher config.
        extra = f'model.update(teacher=dict(config={paths[teacher]!r}))\n'
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder, extra)
    # Two teacher networks instead of the one of the xERM-TDE config.
    extra = (f'model.update(teacher=None, imbalanced_teacher=dict('
             f'config={paths["xe"]!r}, checkpoint=None), balanced_teacher='
             f'dict(config={paths["tde"]!r}, checkpoint=None))\n')
    paths['xerm_two'] = small_cifar10_config(
        BASES['xerm_tde'], fake_cifar10_root, osp.join(folder, 'two'), extra)
    # A wrong config giving both teacher forms.
    paths['both'] = osp.join(folder, 'both.py')
    with open(paths['both'], 'w') as f:
        f.write(f'_base_ = {paths["xerm_two"]!r}\n'
                f'model = dict(teacher=dict(_delete_=True, '
                f'config={paths["tde"]!r}))\n')
    # A config that does not load (a dict over None needs _delete_).
    paths['broken'] = osp.join(folder, 'broken.py')
    with open(paths['broken'], 'w') as f:
        f.write(f'_base_ = {paths["xerm_two"]!r}\n'
                f'model = dict(teacher=dict(config={paths["tde"]!r}))\n')
    return folder, paths


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


def write_pipeline(tmp_path, paths, stages: str) -> str:
    path = tmp_path / 'pipeline.py'
    path.write_text(f'stages = [{stages.format(**paths)}]\n')
    return str(path)


XE = "dict(name='xe', config={xe!r}), dict(name='tde', config={tde!r}), "


@pytest.mark.parametrize('stages, message', [
    (XE + "dict(name='s', config={xerm_tde!r}, teacher='tdee')",
     "stage 's': teacher 'tdee' is not an earlier stage of ['xe', 'tde']"),
    (XE + "dict(name='s', config={xerm_two!r}, "
     "teachers=dict(imbalanced='xe', balanced='s'))",
     "stage 's': teachers.balanced 's' is not an earlier stage"),
    (XE + "dict(name='s', config={xerm_two!r}, teacher='tde', "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     "stage 's': give teacher='STAGE'"),
    (XE + "dict(name='s', config={xerm_two!r}, teachers=dict(imba='xe'))",
     "stage 's': teachers must be dict(imbalanced='STAGE'"),
    (XE + "dict(name='s', config={tde!r}, teacher='xe')",
     'has no model.teacher = dict(config=..., checkpoint=...) to take the '
     "checkpoint of stage 'xe'"),
    (XE + "dict(name='s', config={xerm_tde!r}, "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     'has no model.imbalanced_teacher'),
    (XE + "dict(name='s', config={both!r}, teacher='tde')",
     'sets model.imbalanced_teacher too'),
    (XE + "dict(name='s', config={both!r}, "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     'sets model.teacher too'),
    (XE + "dict(name='s', config={broken!r}, teacher='tde')",
     "stage 's': its config {broken} does not load: teacher="),
    (XE + "dict(name='s', config={xe!r}, cfg_options=dict(train_cfg=None))",
     "stage 's': its config {xe} has no int train_cfg.max_epochs"),
    (XE + "dict(name='s', config={xe!r}, nproc=0)",
     "stage 's': nproc must be an int >= 1"),
    (XE + "dict(name='s', config={xe!r}, teachr='xe')",
     "stage 's': unknown keys ['teachr']"),
    (XE + "dict(name='s', config='xerm_mm::xe/none.py')",
     "stage 's': config 'xerm_mm::xe/none.py' not found"),
    (XE + "dict(name='s', config={xe!r}, epochs_factor=2.5)",
     "stage 's': epochs_factor must be an int >= 1"),
])
def test_bad_pipeline_fails_before_any_work(configs, tmp_path, stages,
                                            message):
    config = write_pipeline(tmp_path, configs[1], stages)
    with pytest.raises(ExperimentError) as error:
        Experiment(config, work_dir=str(tmp_path / 'work'))
    assert message.format(**configs[1]) in str(error.value)
    assert str(error.value).startswith(config)
    assert not (tmp_path / 'work').exists()


# The shipped demo's xERM-PC with two teacher networks, as a user writes it.
DIGITS_TWO_NETWORKS = """
_base_ = 'xerm_mm::xerm/xerm-pc_bbn-resnet32_1xb64-30e_digitslt-ib10.py'
model = dict(
    teacher=None,
    imbalanced_teacher=dict(
        config='xerm_mm::xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py',
        checkpoint=None),
    balanced_teacher=dict(
        config='xerm_mm::tde/tde_bbn-resnet32_1xb64-30e_digitslt-ib10.py',
        checkpoint=None))
"""


def test_shipped_and_two_network_pipelines_pass_the_checks(
        tmp_path, monkeypatch):
    pipelines = osp.join(ROOT, 'configs', 'pipelines')
    shipped = [name for name in os.listdir(pipelines) if name.endswith('.py')]
    assert shipped
    monkeypatch.chdir(tmp_path)  # (Places: ImageNet weights under it)
    for name in shipped:
        write_pretrained_stand_ins(osp.join(pipelines, name))
        experiment = Experiment(osp.join(pipelines, name))
        assert all(
            experiment.final_checkpoint(stage).endswith('.pth')
            for stage in experiment.stages)
    student = tmp_path / 'xerm-pc-two.py'
    student.write_text(DIGITS_TWO_NETWORKS)
    config = tmp_path / 'digits.py'
    config.write_text(
        "stages = [dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_1xb64-"
        "30e_digitslt-ib10.py'), dict(name='tde', config='xerm_mm::tde/tde_"
        "bbn-resnet32_1xb64-30e_digitslt-ib10.py'), dict(name='two', "
        f"config={str(student)!r}, teachers=dict(imbalanced='xe', "
        "balanced='tde'))]\n")
    experiment = Experiment(str(config), work_dir=str(tmp_path / 'work'))
    assert experiment.final_checkpoint('two') == str(tmp_path / 'work' /
                                                     'two' / 'epoch_30.pth')


def test_cli_reports_a_bad_pipeline(configs, tmp_path):
    good = PIPELINE.format(**configs[1])
    bad = tmp_path / 'bad_pipeline.py'
    bad.write_text(good.replace("teacher='tde'", "teacher='tdee'"))
    out = run_pipeline(str(bad), '--work-dir', str(tmp_path / 'work'))
    assert "exit: run_pipeline: " in out and "teacher 'tdee'" in out
    assert not (tmp_path / 'work').exists()
    config = tmp_path / 'pipeline.py'
    config.write_text(good)
    out = run_pipeline(str(config), '--nproc', '0')
    assert 'exit: run_pipeline: nproc must be an int >= 1' in out


def test_tools_are_found_in_the_package_then_the_checkout(tmp_path):
    installed = tmp_path / 'site' / 'xerm_mm'
    checkout = tmp_path / 'src'
    for tools in (installed / '.mim' / 'tools', checkout / 'tools'):
        tools.mkdir(parents=True)
        for name in ('train.py', 'test.py'):
            (tools / name).write_text('')
    (checkout / 'xerm_mm').mkdir()
    assert find_tools(str(installed)) == str(installed / '.mim' / 'tools')
    assert find_tools(str(checkout / 'xerm_mm')) == str(checkout / 'tools')
    with pytest.raises(FileNotFoundError) as error:
        find_tools(str(tmp_path / 'bare' / 'xerm_mm'))
    assert str(tmp_path / 'bare' / 'xerm_mm' / '.mim' / 'tools') in str(
        error.value)
    assert str(tmp_path / 'bare' / 'tools') in str(error.value)
    # The checkout of this test run: ./tools or the package's .mim/tools.
    assert osp.samefile(
        osp.join(find_tools(), 'train.py'),
        osp.join(ROOT, 'tools', 'train.py'))


def test_tool_command_launchers():
    assert tool_command('t.py', ['a'], python='py') == ['py', 't.py', 'a']
    for nproc, launcher in ((2, 'none'), (1, 'pytorch')):
        cmd = tool_command('t.py', ['a'], nproc, launcher, python='py')
        assert cmd[:5] == [
            'py', '-m', 'torch.distributed.run', '--nproc_per_node',
            str(nproc)
        ]
        assert cmd[5] == '--master_port' and int(cmd[6]) > 0
        assert cmd[7:] == ['t.py', 'a', '--launcher', 'pytorch']
    with pytest.raises(ValueError, match='launcher must be one of'):
        tool_command('t.py', [], launcher='slurm')
    with pytest.raises(ValueError, match='nproc must be an int >= 1'):
        tool_command('t.py', [], nproc=0)


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


# -- what "done" means, manifests, process hygiene (issue 8) ---------------

ONE_STAGE = """
stages = [dict(name='xe', config={xe!r}{options})]
evaluations = [dict(name='XE', stage='xe')]
"""


def one_stage_pipeline(tmp_path, paths, options: str = '') -> str:
    config = tmp_path / f'one_stage{len(options)}.py'
    config.write_text(ONE_STAGE.format(xe=paths['xe'], options=options))
    return str(config)


def copy_step(experiment, work: str, stage: str, evaluation: str) -> None:
    """Copy a finished stage and one of its evaluations into ``work``."""
    shutil.copytree(osp.join(experiment[1], stage), osp.join(work, stage))
    os.makedirs(osp.join(work, 'eval'), exist_ok=True)
    for name in (f'{evaluation}.json', f'{evaluation}.manifest.json'):
        shutil.copy(osp.join(experiment[1], 'eval', name),
                    osp.join(work, 'eval', name))


def test_checkpoint_problems(tmp_path):
    path = str(tmp_path / 'epoch_2.pth')
    weights = {'w': torch.ones(3), 'n': torch.tensor(1)}
    torch.save(dict(meta=dict(epoch=2), state_dict=weights), path)
    assert checkpoint_problem(path, 2) is None
    assert 'saved at epoch 2, not at the configured max_epochs 3' in (
        checkpoint_problem(path, 3))
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert checkpoint_problem(path, 2).startswith('does not load')
    torch.save(dict(meta=dict(epoch=2), state_dict=dict(
        weights, w=torch.tensor([1., float('nan')]))), path)
    assert 'non-finite weights (1 tensors, e.g. w)' in checkpoint_problem(
        path, 2)
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'


def test_a_second_pipeline_on_a_work_dir_is_refused(configs, tmp_path):
    config = one_stage_pipeline(tmp_path, configs[1])
    work = str(tmp_path / 'work')
    with WorkDirLock(work):
        out = run_pipeline(config, '--work-dir', work)
    assert (f'exit: run_pipeline: {work} is in use by another pipeline '
            f'(pid {os.getpid()}, lock {work}/pipeline.lock)') in out
    assert sorted(os.listdir(work)) == ['pipeline.lock']  # nothing trained


@pytest.mark.slow
def test_budget_matched_stage_trains_the_stretched_schedule(
        configs, tmp_path):
    """epochs_factor=2 through the real tools: twice the epochs, the
    warm-up and milestones doubled in the config train.py ran."""
    work = str(tmp_path / 'work')
    config = one_stage_pipeline(tmp_path, configs[1], ', epochs_factor=2')
    out = run_pipeline(config, '--work-dir', work)
    assert 'exit:' not in out, out[-3000:]
    ran = Config.fromfile(
        osp.join(work, 'xe', osp.basename(configs[1]['xe'])))
    assert ran.train_cfg.max_epochs == 2
    assert (ran.param_scheduler[0].end,
            ran.param_scheduler[1].milestones) == (2, [16, 20])
    manifest = json.load(open(osp.join(work, 'xe', 'manifest.json')))
    assert manifest['checkpoint']['epoch'] == 2
    assert 'param_scheduler.1.milestones=[16,20]' in manifest['inputs'][
        'cfg_options']


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


def _child_pid(parent: int, timeout: float = 120) -> int:
    """The pid of the tool (train.py) that process ``parent`` started, from
    a scan of /proc."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    cmdline = f.read()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if ppid == parent and b'train.py' in cmdline:
                return int(pid)
        time.sleep(0.2)
    raise AssertionError(f'process {parent} started no train.py')


def _alive(pid: int) -> bool:
    """Running (a zombie counts as ended)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.time() + timeout
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='PR_SET_PDEATHSIG and /proc are Linux')
def test_killed_pipeline_leaves_no_tool_running(configs, tmp_path):
    """SIGTERM: forwarded to the trainer and waited for; SIGKILL: the
    trainer gets SIGTERM from the kernel. A rerun then finishes."""
    config = one_stage_pipeline(  # long enough to be killed while it runs
        tmp_path, configs[1], ", cfg_options={'train_cfg.max_epochs': 3}")
    work = str(tmp_path / 'work')
    log = osp.join(work, 'xe', 'pipeline.log')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'run_pipeline.py'),
           config, '--work-dir', work]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    for signum in (signal.SIGTERM, signal.SIGKILL):
        pipeline = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        child = _child_pid(pipeline.pid)
        while f'[experiment] pid {child}: ' not in (
                open(log).read() if osp.isfile(log) else ''):
            time.sleep(0.1)  # the pipeline has recorded it
        if signum == signal.SIGTERM:
            # While it runs, a second pipeline is refused, naming it.
            out = run_pipeline(config, '--work-dir', work)
            assert f'in use by another pipeline (pid {pipeline.pid}' in out
        else:
            # Killed after its first checkpoint: the rerun resumes from it.
            last = osp.join(work, 'xe', 'last_checkpoint')
            deadline = time.time() + 120
            while not osp.isfile(last) and time.time() < deadline:
                time.sleep(0.1)
            assert osp.isfile(last), 'no checkpoint within 120 s'
        pipeline.send_signal(signum)
        stdout = pipeline.communicate(timeout=120)[0]
        if signum == signal.SIGTERM:
            assert not _alive(child), f'trainer {child} runs on'
            assert pipeline.returncode == 128 + 15, stdout[-3000:]
            assert 'stopped by SIGTERM' in stdout
        else:
            assert _wait_gone(child), f'trainer {child} runs on'
        os.remove(log)  # the next run's pid is the only one in it
    out = run_pipeline(config, '--work-dir', work)
    assert 'exit:' not in out, out[-3000:]
    report = json.load(open(osp.join(work, 'report.json')))
    final = osp.join(work, 'xe', 'epoch_3.pth')
    assert report['checkpoints']['XE']['sha256'] == sha256_of(final)
    assert 0 <= report['table1']['XE']['top1'] <= 100
    assert '--resume' in open(log).read()
    # Exact resume: the same weights and numbers as a run never killed.
    other = str(tmp_path / 'uninterrupted')
    run_pipeline(config, '--work-dir', other)
    again = json.load(open(osp.join(other, 'report.json')))
    weights = [
        torch.load(path, weights_only=True)['state_dict']
        for path in (final, osp.join(other, 'xe', 'epoch_3.pth'))
    ]
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    assert again['results'] == report['results']
    # Its cost: the resumed run's wall time, all iterations' images/s.
    resumed, whole = (r['cost']['stages']['xe'] for r in (report, again))
    assert resumed['resumed'] is True and whole['resumed'] is False
    assert resumed['iterations'] == whole['iterations']
    assert resumed['images_per_s'] > 0


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


def test_log_watcher_reads_device_and_cuda_memory():
    from xerm_mm.apis.cost import LogWatcher
    watcher = LogWatcher()
    assert watcher.device == 'unknown'
    for line in ('    CUDA available: True\n',
                 '    GPU 0,1: NVIDIA H100 80GB HBM3\n',
                 '    GPU number: 2\n',
                 '11/27 13:00:00 - mmengine - INFO - Epoch(train) [1][10/85]'
                 '  lr: 1e-01  time: 0.0040  data_time: 0.0010  memory: 812'
                 '  loss: 2.3\n',
                 '11/27 13:00:01 - mmengine - INFO - Epoch(test) [10/40]'
                 '  time: 0.0020  memory: 640\n'):
        watcher.feed(line)
    assert watcher.device == 'cuda:NVIDIA H100 80GB HBM3'
    assert watcher.peak_cuda_mib == 812
    cpu = LogWatcher()
    cpu.feed('    CUDA available: False\n')
    cpu.feed('x - mmengine - INFO - Epoch(train) [1][1/1]  time: 0.5  '
             'loss: 1.0\n')
    assert cpu.device == 'cpu' and cpu.peak_cuda_mib is None


def test_training_throughput_from_the_message_hub(tmp_path):
    from xerm_mm.apis.cost import cost_table, training_throughput
    path = str(tmp_path / 'epoch_2.pth')
    times = dict(log_history=torch.tensor([0.5, 0.25, 0.25, 0.5],
                                          dtype=torch.float64),
                 count_history=torch.ones(4, dtype=torch.int64),
                 max_length=1000000)
    torch.save(dict(meta=dict(epoch=2, iter=4), state_dict={},
                    message_hub=dict(log_scalars={'train/time': times})),
               path)
    row = training_throughput(path, batch_size=16, processes=2)
    assert row == dict(iterations=4, train_s=1.5, images=128,
                       images_per_s=85.3)
    torch.save(dict(meta=dict(epoch=2, iter=4), state_dict={}), path)
    assert training_throughput(path, 16, 1) == {}
    lines = cost_table(dict(
        stages=dict(xe=dict(row, device='cpu', processes=2, wall_s=3.0,
                            peak_rss_mib=512.0, peak_cuda_mib=None),
                    old=None),
        evaluations=dict(XE=dict(device='cpu', processes=1, wall_s=1.5,
                                 peak_rss_mib=400.0, peak_cuda_mib=None))))
    assert lines[2] == '| xe (train) | cpu | 2 | 3.0 | 85.3 | 512.0 | - |'
    assert lines[3] == '| old (train) | - | - | - | - | - | - |'
    assert lines[4] == '| XE (test) | cpu | 1 | 1.5 | - | 400.0 | - |'
    assert lines[5] == '| total | | | 4.5 | | | |'


def test_peak_memory_of_a_tool_is_its_own():
    """VmHWM of the tool's process group; wait4's ru_maxrss counts the
    parent's memory copied at the fork."""
    from xerm_mm.apis.cost import PeakRSS
    from xerm_mm.apis.process import run_child
    usage = []
    peaks = []

    def on_start(pid):
        peaks.append(PeakRSS(pid, interval=0.05))
        peaks[-1].start()

    code = ('import time\nb = bytearray(300 * 1024 * 1024)\n'
            'for i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(0.5)\n')
    lines = []
    assert run_child([sys.executable, '-c', code], lines.append, on_start,
                     on_exit=usage.append) == 0
    assert usage[0].ru_maxrss / 1024 >= 300  # KiB on Linux
    assert peaks[0].stop() / 1024 >= 300
    assert run_child([sys.executable, '-c', 'import time; time.sleep(0.5)'],
                     lines.append, on_start, on_exit=usage.append) == 0
    assert 0 < peaks[1].stop() / 1024 < 100
