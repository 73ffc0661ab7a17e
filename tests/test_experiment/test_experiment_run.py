"""Experiments run by Snakemake (``python -m xerm_mm.experiment``) on a tiny
fake CIFAR-10: a teacher stage, its xERM student, their tests, the report.

One experiment is run per module, as a user recovers from an interruption:
stopped during the teacher's training (held after its first epoch by
pause_hook.py), then run again to the end. The other tests read it, dry-run
changes of it, or redo a part of it on stand-in SLURM commands. Every run
is a real process: the front, Snakemake, tools/train.py and tools/test.py.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from collections import namedtuple

import pytest

from conftest import ROOT, small_cifar10_config
from pipeline_setup import BASES, configs  # noqa: F401
from xerm_mm.utils.atomic import sha256_of

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import slurm_standin  # noqa: E402

PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}{xe_options}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe'),
]
evaluations = [
    dict(name='XE', stage='xe', resources=dict(runtime=30, mem_mb=4000)),
    dict(name='xERM-PC', stage='xerm_pc'),
]
"""
# Experiment-wide: reaches the students' teacher configs too (written at
# run time).
OPTIONS = ['--cfg-options', 'train_cfg.val_interval=2']
STEPS = ['report', 'test_XE', 'test_xERM-PC', 'train_xe', 'train_xerm_pc']

Experiment = namedtuple('Experiment', 'config work paths out interruption')


def pipeline(folder, paths, name='pipeline.py', xe_options=''):
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write(PIPELINE.format(xe_options=xe_options, **paths))
    return path


def experiment_cmd(config, work, *args):
    return [sys.executable, '-m', 'xerm_mm.experiment', config,
            '--work-dir', work, *args]


def environ(**more):
    """One thread per step; pause_hook importable by the tools."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (HERE, env.get('PYTHONPATH')) if p)
    env.update(more)
    return env


def run(config, work, *args, env=None, check=True):
    """The front in a process: (exit code, stdout + stderr)."""
    proc = subprocess.run(experiment_cmd(config, work, *args), cwd=ROOT,
                          env=environ(**(env or {})), capture_output=True,
                          text=True, timeout=600)
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


def _wait_for(path, proc, log, timeout=300):
    start = time.monotonic()
    while not osp.exists(path):
        assert proc.poll() is None, open(log).read()[-4000:]
        assert time.monotonic() - start < timeout, open(log).read()[-4000:]
        time.sleep(0.2)


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _tools_of(work):
    """The pids of tools still running in ``work``."""
    return subprocess.run(['pgrep', '-f', f'--work-dir {work}/'],
                          capture_output=True, text=True).stdout.split()


@pytest.fixture(scope='module')
def experiment(configs, fake_cifar10_root):  # noqa: F811
    """The experiment, stopped (SIGTERM) while its teacher waits after
    epoch 1 of 2, then run again to the end: :class:`Experiment` with the
    outputs of the interruption's phases in ``interruption``."""
    folder, paths = configs
    hold = osp.join(folder, 'hold')
    held = ("train_cfg.update(max_epochs=2)\n"
            "custom_imports = dict(imports=['xerm_mm', 'pause_hook'], "
            'allow_failed_imports=False)\n'
            f'custom_hooks = [dict(type="PauseAfterFirstEpoch", '
            f'flag={hold!r})]\n')
    paths = dict(paths, xe=small_cifar10_config(
        BASES['xe'], fake_cifar10_root, osp.join(folder, 'held'), held))
    config = pipeline(folder, paths)
    work = osp.join(folder, 'work')
    phases = {}
    open(hold, 'w').close()
    log = osp.join(folder, 'first.log')
    with open(log, 'w') as out:
        # Started ignoring SIGINT, as a background job of a script is.
        proc = subprocess.Popen(experiment_cmd(config, work, *OPTIONS),
                                cwd=ROOT, env=environ(), stdout=out,
                                stderr=subprocess.STDOUT,
                                preexec_fn=_ignore_sigint)
    try:
        _wait_for(f'{hold}.paused', proc, log)
        # A second run on the work dir is refused while the first runs.
        phases['locked'] = run(config, work, *OPTIONS, check=False)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            tools = subprocess.run(['ps', '-o', 'pid,stat,etime,args', '-g',
                                    str(proc.pid)], capture_output=True,
                                   text=True).stdout
            pytest.fail('the run did not stop within 300 s of SIGTERM; its '
                        f'log:\n{open(log).read()[-4000:]}\n{tools}')
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.remove(hold)
    # SIGTERM stops the training too: no tool of the work dir runs on.
    start = time.monotonic()
    while _tools_of(work) and time.monotonic() - start < 20:
        time.sleep(0.5)
    phases['stopped'] = (proc.returncode, open(log).read(), _tools_of(work),
                         sorted(os.listdir(osp.join(work, 'xe'))))
    # The same command goes on.
    _, out = run(config, work, *OPTIONS)
    return Experiment(config, work, paths, out, phases)


def test_dry_run_lists_the_tool_commands(configs, tmp_path):  # noqa: F811
    folder, paths = configs
    work = str(tmp_path / 'work')
    os.makedirs(tmp_path / 'tmp')
    # An OMP_NUM_THREADS of the user's is every step's threads.
    _, out = run(pipeline(folder, paths, 'dry.py'), work, '--dry-run',
                 *OPTIONS, env=dict(OMP_NUM_THREADS='3',
                                    TMPDIR=str(tmp_path / 'tmp')))
    assert jobs_run(out) == STEPS
    assert 'reason: Missing output files' in out
    assert out.count('threads: 3') == len(STEPS)
    # Every step is a command a user can run by hand, printed whole.
    assert f'tools/train.py {paths["xe"]} --work-dir {work}/xe' in out
    # The teacher's checkpoint goes into a copy of the student's config.
    assert (f'--set model.teacher.checkpoint={work}/xe/epoch_1.pth '
            f'--teachers-in {work}/xerm_pc') in out
    assert (f'tools/train.py {work}/xerm_pc/pipeline_inputs/'
            f'{osp.basename(paths["xerm_pc"])} --work-dir {work}/xerm_pc') in out
    assert f'tools/test.py {paths["xe"]} {work}/xe/epoch_1.pth' in out
    # Nothing written but Snakemake's own folder; the plan file removed.
    assert set(os.listdir(work)) <= {'.snakemake'}
    assert os.listdir(tmp_path / 'tmp') == []
    # The unlock the front advises on a locked work dir: no report yet.
    _, out = run(pipeline(folder, paths, 'dry.py'), work,
                 '--engine-options=--unlock', *OPTIONS)
    assert f'no report yet ({work}/report.md)' in out


def test_bad_config_is_refused_before_work(configs, tmp_path):  # noqa: F811
    folder, paths = configs
    bad = pipeline(folder, paths, 'bad.py',
                   xe_options=", resources=dict(runtime='1h')")
    code, out = run(bad, str(tmp_path / 'w'), check=False)
    assert code != 0
    assert "stage 'xe': resources must be dict(runtime=MINUTES" in out
    assert 'Snakemake' not in out and not osp.exists(tmp_path / 'w')
    code, out = run(pipeline(folder, paths), str(tmp_path / 'w'),
                    env=dict(OMP_NUM_THREADS='two'), check=False)
    assert code != 0 and "OMP_NUM_THREADS='two': must be an int" in out
    assert not osp.exists(tmp_path / 'w')


@pytest.mark.slow
def test_interrupted_stage_resumes_and_work_dir_is_locked(experiment):
    work, phases = experiment.work, experiment.interruption
    code, out = phases['locked']
    assert code != 0 and f'{work} is in use by another run (pid' in out
    assert 'Building DAG' not in out  # refused before Snakemake
    code, log, running, files = phases['stopped']
    assert code != 0, log[-4000:]
    assert not running, log[-4000:]
    assert 'epoch_1.pth' in files and 'final.json' not in files
    # Run again: the training went on from its epoch 1.
    assert jobs_run(experiment.out) == STEPS
    record = json.load(open(osp.join(work, 'xe', 'final.json')))
    assert record['resumed'] is True and record['epoch'] == 2
    log = open(osp.join(work, 'xe', 'pipeline.log')).read()
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log.split('resumed epoch: 1')[1]


@pytest.mark.slow
def test_runs_end_to_end(experiment):
    work = experiment.work
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
    # The stopped and resumed teacher: its two runs, from their logs.
    record = json.load(open(osp.join(work, 'xe', 'final.json')))
    assert record['resumed'] and cost['wall_s'] == record['runs_wall_s']
    assert cost['images_per_s'] > 0 and cost['device'] == 'cpu'
    assert report['cost']['evaluations']['XE']['wall_s'] > 0
    markdown = open(osp.join(work, 'report.md')).read()
    assert '## Cost' in markdown and '| xe (train) | cpu | 1 |' in markdown
    assert '| xERM-PC |' in experiment.out  # the report, printed
    assert osp.isfile(osp.join(work, 'figures', 'unbiasedness_curve.png'))
    # The student's teacher config got the experiment-wide options.
    teacher = osp.join(work, 'xerm_pc', 'teacher_config.py')
    assert 'val_interval=2' in open(teacher).read()
    assert teacher in open(osp.join(work, 'xerm_pc', 'pipeline.log')).read()


@pytest.mark.slow
def test_a_change_reruns_what_depends_on_it(experiment):
    config, work, paths = experiment.config, experiment.work, experiment.paths
    folder = osp.dirname(config)
    # A stage's own override: its stage, its student, their tests.
    changed = pipeline(folder, paths, 'changed.py', xe_options=(
        ", cfg_options={'optim_wrapper.optimizer.lr': 0.05}"))
    _, out = run(changed, work, '--dry-run', *OPTIONS)
    assert jobs_run(out) == STEPS
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
    assert jobs_run(out) == STEPS
    # Nothing changed (the dry runs left no trace): nothing runs, the
    # report is printed.
    _, out = run(config, work, *OPTIONS)
    assert jobs_run(out) == []
    assert 'Nothing to be done' in out and '| xERM-PC |' in out


@pytest.mark.slow
def test_slurm_submits_every_step(experiment, tmp_path):
    """The SLURM profile against stand-in sbatch / sacct / srun that run
    the job here: an evaluation (forced) and the report go again, each
    step a job with its resources. (Last: it redoes a part of the module's
    experiment.)"""
    work = experiment.work
    metrics = osp.join(work, 'eval', 'XE.json')
    before = os.stat(metrics).st_mtime_ns
    state = str(tmp_path / 'slurm')
    os.makedirs(state)
    bin_dir = str(tmp_path / 'bin')
    slurm_standin.install(bin_dir, state)
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}')
    _, out = run(experiment.config, work, '--slurm', '--engine-options',
                 '--slurm-status-command sacct --slurm-init-seconds-before-'
                 'status-checks 1 --seconds-between-status-checks 1'
                 ' --default-resources slurm_account=lab --forcerun test_XE',
                 *OPTIONS, env=env)
    calls = {c.split('--comment ')[1].split()[0].strip("'"): c for c in
             open(osp.join(state, 'calls')).read().splitlines()}
    assert sorted(calls) == ['rule_report', 'rule_test_XE'], out[-4000:]
    # The evaluation's resources, the profile's defaults for the report.
    assert '--mem 4000' in calls['rule_test_XE']
    assert '-t 30' in calls['rule_test_XE']
    assert '--mem 32000' in calls['rule_report']
    assert '-t 1440' in calls['rule_report']
    assert all('-A lab' in c for c in calls.values())
    report = json.load(open(osp.join(work, 'report.json')))
    assert list(report['table1']) == ['XE', 'xERM-PC']
    assert report['cost']['evaluations']['XE']['wall_s'] > 0
    assert os.stat(metrics).st_mtime_ns > before
