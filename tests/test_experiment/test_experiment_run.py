"""Experiments run by Snakemake (``python -m xerm_mm.experiment``) on a tiny
fake CIFAR-10: a teacher stage, its xERM student, their tests, the report.

One experiment is trained once per module (1 epoch per stage); the other
tests rerun it, dry-run changes of it, or copy it. Every run is a real
process: the front, Snakemake, tools/train.py and tools/test.py.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from pipeline_setup import configs  # noqa: F401
from xerm_mm.utils.atomic import sha256_of

sys.path.insert(0, osp.dirname(__file__))
import slurm_standin  # noqa: E402

PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}{xe_options}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='xERM-PC', stage='xerm_pc'),
]
"""
# Reaches the students' teacher configs too (written at run time).
OPTIONS = ['--cfg-options', 'train_cfg.max_epochs=1']


def pipeline(folder, paths, name='pipeline.py', xe_options=''):
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write(PIPELINE.format(xe_options=xe_options, **paths))
    return path


def experiment_cmd(config, work, *args):
    return [sys.executable, '-m', 'xerm_mm.experiment', config,
            '--work-dir', work, *args]


def run(config, work, *args, env=None, check=True):
    """The front in a process: (exit code, stdout + stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(experiment_cmd(config, work, *args), cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out[-6000:]
    return proc.returncode, out


def jobs_run(output):
    """The rules Snakemake started (``localrule NAME:`` / ``rule NAME:``)."""
    return sorted({line.split()[-1].rstrip(':') for line in
                   output.splitlines()
                   if line.startswith(('localrule ', 'rule '))
                   and line.rstrip().endswith(':') and ' all' not in line})


@pytest.fixture(scope='module')
def experiment(configs):  # noqa: F811
    folder, paths = configs
    config = pipeline(folder, paths)
    work = osp.join(folder, 'work')
    _, out = run(config, work, *OPTIONS)
    return config, work, out, paths


def test_dry_run_lists_the_tool_commands(configs, tmp_path):  # noqa: F811
    folder, paths = configs
    work = str(tmp_path / 'work')
    _, out = run(pipeline(folder, paths, 'dry.py'), work, '--dry-run',
                 *OPTIONS)
    assert jobs_run(out) == ['report', 'test_XE', 'test_xERM-PC',
                             'train_xe', 'train_xerm_pc']
    assert 'reason: Missing output files' in out
    # Every step is a command a user can run by hand, printed whole.
    assert f'tools/train.py {paths["xe"]} --work-dir {work}/xe' in out
    assert (f'--cfg-options train_cfg.max_epochs=1 model.teacher.checkpoint='
            f'{work}/xe/epoch_1.pth') in out
    assert f'tools/test.py {paths["xe"]} {work}/xe/epoch_1.pth' in out
    # Nothing written but Snakemake's own folder.
    assert set(os.listdir(work)) <= {'.snakemake'}


def test_bad_config_is_refused_before_work(configs, tmp_path):  # noqa: F811
    folder, paths = configs
    bad = pipeline(folder, paths, 'bad.py',
                   xe_options=", resources=dict(runtime='1h')")
    code, out = run(bad, str(tmp_path / 'w'), check=False)
    assert code != 0
    assert "stage 'xe': resources must be dict(runtime=MINUTES" in out
    assert 'Snakemake' not in out and not osp.exists(tmp_path / 'w')


@pytest.mark.slow
def test_runs_end_to_end_and_reruns_nothing(experiment):
    config, work, out, _ = experiment
    assert jobs_run(out) == ['report', 'test_XE', 'test_xERM-PC',
                             'train_xe', 'train_xerm_pc']
    report = json.load(open(osp.join(work, 'report.json')))
    # The shape of tools/run_pipeline.py's report.
    assert list(report) == ['table1', 'table4', 'results', 'checkpoints',
                            'cost', 'balanced_set', 'tables',
                            'backward_sets', 'sources', 'baseline',
                            'figures']
    assert list(report['table1']) == ['XE', 'xERM-PC']
    assert list(report['table4']['XE']) == ['balanced', 'ib10']
    checkpoint = report['checkpoints']['xERM-PC']
    assert checkpoint['file'] == osp.join(work, 'xerm_pc', 'epoch_1.pth')
    assert checkpoint['sha256'] == sha256_of(checkpoint['file'])
    # The Cost table from Snakemake's benchmark records.
    cost = report['cost']['stages']['xe']
    assert cost['wall_s'] > 0 and cost['peak_rss_mib'] > 100
    assert cost['images_per_s'] > 0 and cost['device'] == 'cpu'
    assert report['cost']['evaluations']['XE']['wall_s'] > 0
    markdown = open(osp.join(work, 'report.md')).read()
    assert '## Cost' in markdown and '| xe (train) | cpu | 1 |' in markdown
    assert osp.isfile(osp.join(work, 'figures', 'unbiasedness_curve.png'))
    # The student's teacher config got the experiment-wide options.
    teacher = osp.join(work, 'xerm_pc', 'teacher_config.py')
    assert osp.isfile(teacher)
    assert teacher in open(osp.join(work, 'xerm_pc', 'pipeline.log')).read()
    # Again: nothing to do, the report printed.
    _, again = run(config, work, *OPTIONS)
    assert jobs_run(again) == []
    assert 'Nothing to be done' in again and '| xERM-PC |' in again


@pytest.mark.slow
def test_a_change_reruns_what_depends_on_it(experiment):
    config, work, _, paths = experiment
    folder = osp.dirname(config)
    # A stage's own override: its stage, its student, their tests.
    changed = pipeline(folder, paths, 'changed.py', xe_options=(
        ", cfg_options={'optim_wrapper.optimizer.lr': 0.05}"))
    _, out = run(changed, work, '--dry-run', *OPTIONS)
    assert jobs_run(out) == ['report', 'test_XE', 'test_xERM-PC',
                             'train_xe', 'train_xerm_pc']
    assert 'reason: Params have changed since last execution' in out
    # The student's config file: the student and its test only.
    student = paths['xerm_pc']
    original = open(student).read()
    try:
        with open(student, 'a') as f:
            f.write('optim_wrapper = dict(optimizer=dict(lr=0.05))\n')
        _, out = run(config, work, '--dry-run', *OPTIONS)
    finally:
        with open(student, 'w') as f:
            f.write(original)
    assert jobs_run(out) == ['report', 'test_xERM-PC', 'train_xerm_pc']
    # Another data root: everything.
    _, out = run(config, work, '--dry-run', '--data-root', folder, *OPTIONS)
    assert len(jobs_run(out)) == 5
    _, out = run(config, work, '--dry-run', *OPTIONS)
    assert jobs_run(out) == []


def _wait_for(path, proc, timeout=300):
    start = time.monotonic()
    while not osp.exists(path):
        assert proc.poll() is None, proc.stdout.read()[-4000:]
        assert time.monotonic() - start < timeout
        time.sleep(0.5)


@pytest.mark.slow
def test_interrupted_stage_resumes_and_work_dir_is_locked(configs, tmp_path):
    folder, paths = configs  # noqa: F811
    one = osp.join(folder, 'one.py')
    with open(one, 'w') as f:
        f.write(f"stages = [dict(name='xe', config={paths['xe']!r})]\n"
                "evaluations = [dict(name='XE', stage='xe')]\n"
                'report = dict(figures=False)\n')
    work = str(tmp_path / 'work')
    options = ['--cfg-options', 'train_cfg.max_epochs=2']
    proc = subprocess.Popen(
        experiment_cmd(one, work, *options), cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(osp.join(work, 'xe', 'epoch_1.pth'), proc)
        # A second run on the work dir is refused while the first runs.
        code, out = run(one, work, *options, check=False)
        assert code != 0 and 'Directory cannot be locked' in out
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    # SIGTERM stopped the training: no tool of this work dir runs on.
    time.sleep(1)
    running = subprocess.run(['pgrep', '-f', f'--work-dir {work}/xe'],
                             capture_output=True, text=True).stdout
    assert not running.strip()
    assert not osp.exists(osp.join(work, 'xe', 'final.json'))
    # Without --resume: told how to go on.
    code, out = run(one, work, *options, check=False)
    assert code != 0 and 'add --resume' in out
    _, out = run(one, work, '--resume', *options)
    record = json.load(open(osp.join(work, 'xe', 'final.json')))
    assert record['resumed'] is True and record['epoch'] == 2
    log = open(osp.join(work, 'xe', 'pipeline.log')).read()
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log.split('resumed epoch: 1')[1]


@pytest.mark.slow
def test_slurm_submits_every_step(experiment, tmp_path):
    """The SLURM profile against stand-in sbatch / sacct / srun that run
    the job here: the student (its record removed) and both tests go
    again, each step a job. (Last: it redoes the module's experiment.)"""
    config, work, _, _ = experiment
    os.remove(osp.join(work, 'xerm_pc', 'final.json'))
    os.remove(osp.join(work, 'eval', 'XE.json'))
    state = str(tmp_path / 'slurm')
    os.makedirs(state)
    bin_dir = str(tmp_path / 'bin')
    slurm_standin.install(bin_dir, state)
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}')
    _, out = run(config, work, '--slurm', '--engine-options',
                 '--slurm-status-command sacct --slurm-init-seconds-before-'
                 'status-checks 1 --seconds-between-status-checks 2'
                 ' --default-resources slurm_account=lab', *OPTIONS, env=env)
    calls = open(osp.join(state, 'calls')).read().splitlines()
    rules = sorted(c.split('--comment ')[1].split()[0].strip("'")
                   for c in calls)
    assert rules == ['rule_report', 'rule_test_XE', 'rule_test_xERM-PC',
                     'rule_train_xerm_pc']
    assert all('--mem 32000' in c and '-t 1440' in c for c in calls)
    report = json.load(open(osp.join(work, 'report.json')))
    assert list(report['table1']) == ['XE', 'xERM-PC']
    assert report['cost']['stages']['xerm_pc']['wall_s'] > 0
