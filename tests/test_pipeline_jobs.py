"""Steps of a pipeline at once (``--jobs``), with stand-ins for the tools.

The stand-ins (``train.py`` / ``test.py`` in a tmp tools dir, handed to
:class:`~xerm_mm.apis.Experiment` as ``tools_dir``) import nothing heavy:
they log a line as MMEngine does, sleep as ``plan.json`` says, copy a
prepared checkpoint or write metrics, and record their start and end
(``events.jsonl``), so that these tests take seconds.
"""
import json
import os
import os.path as osp
import runpy
import signal
import threading
import time

import pytest
import torch
from conftest import ROOT

import xerm_mm.apis.jobs as jobs_module
from xerm_mm.apis import Experiment, ExperimentError, Interrupted
from xerm_mm.apis.jobs import Placement, cuda_devices, default_jobs
from xerm_mm.apis.process import ChildGroups
from xerm_mm.apis.progress import progress_line
from xerm_mm.apis.scheduler import Launch, Step, run_steps

TOOL = r'''
import json, os, os.path as osp, shutil, signal, sys, time
here = osp.dirname(osp.abspath(__file__))
tool = osp.basename(__file__)
args = sys.argv[1:]
work = args[args.index('--work-dir') + 1]
name = osp.basename(work)
with open(osp.join(here, 'plan.json')) as f:
    plan = json.load(f).get(name, {})


def record(event, **extra):
    with open(osp.join(here, 'events.jsonl'), 'a') as f:
        f.write(json.dumps(dict(name=name, tool=tool, event=event,
                                pid=os.getpid(), time=time.time(),
                                **extra)) + '\n')


def stopped(signum, frame):
    record('stopped', signum=signum)
    if plan.get('end_on_term'):  # at its last save when stopped: it ends
        finish()
    sys.exit(128 + signum)


def finish():
    if tool == 'train.py':
        final = osp.join(work, 'epoch_2.pth')
        shutil.copy(osp.join(here, 'epoch_2.pth'), final)
        with open(osp.join(work, 'last_checkpoint'), 'w') as f:
            f.write(final)
    else:
        with open(args[args.index('--metrics-out') + 1], 'w') as f:
            json.dump({'balanced/lt/top1': 50.0, 'ib10/lt/top1': 60.0}, f)
    record('end')
    sys.exit(0)


signal.signal(signal.SIGTERM, stopped)
record('start', args=args, omp=os.environ.get('OMP_NUM_THREADS'),
       cuda=os.environ.get('CUDA_VISIBLE_DEVICES'))
os.makedirs(work, exist_ok=True)
print('    CUDA available: False', flush=True)
head = '11/27 13:27:46 - mmengine - INFO - '
if tool == 'train.py':
    first = osp.join(work, 'epoch_1.pth')
    shutil.copy(osp.join(here, 'epoch_1.pth'), first)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(first)
    print(head + 'Epoch(train)  [1][2/2]  lr: 1.0000e-01  eta: 0:00:01  '
          'time: 0.1000  data_time: 0.0100  loss: 2.5000', flush=True)
else:
    print(head + 'Epoch(test) [1/1]    eta: 0:00:00  time: 0.1000',
          flush=True)
time.sleep(plan.get('sleep', 0))
if plan.get('exit'):
    print('RuntimeError: the stand-in fails as planned', flush=True)
    record('failed')
    sys.exit(plan['exit'])
finish()
'''

PLAIN = """
model = dict(type='Stand-in')
train_cfg = dict(max_epochs=2)
train_dataloader = dict(batch_size=4)
"""
STUDENT = PLAIN + "model.update(teacher=dict(config=None, checkpoint=None))\n"

PIPELINE = """
stages = [
    dict(name='xe', config={plain!r}),
    dict(name='tde', config={plain!r}),
    dict(name='xerm_pc', config={student!r}, teacher='xe'),
    dict(name='xerm_tde', config={student!r}, teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='PC', stage='xe'),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc'),
    dict(name='xERM-TDE', stage='xerm_tde'),
]
"""
STAGES = ['xe', 'tde', 'xerm_pc', 'xerm_tde']
EVALUATIONS = ['XE', 'PC', 'TDE', 'xERM-PC', 'xERM-TDE']


class StandIns:
    """A tools dir of stand-ins, their plan and what they recorded."""

    def __init__(self, folder):
        self.dir = str(folder / 'tools')
        os.makedirs(self.dir)
        for name in ('train.py', 'test.py'):
            with open(osp.join(self.dir, name), 'w') as f:
                f.write(TOOL)
        times = dict(log_history=torch.full((4, ), 0.25, dtype=torch.float64),
                     count_history=torch.ones(4, dtype=torch.int64),
                     max_length=1000)
        for epoch in (1, 2):
            torch.save(
                dict(meta=dict(epoch=epoch, iter=2 * epoch),
                     state_dict=dict(w=torch.ones(3)),
                     message_hub=dict(log_scalars={'train/time': times})),
                osp.join(self.dir, f'epoch_{epoch}.pth'))
        self.plan({})

    def plan(self, plan: dict) -> None:
        with open(osp.join(self.dir, 'plan.json'), 'w') as f:
            json.dump(plan, f)

    def events(self) -> list:
        path = osp.join(self.dir, 'events.jsonl')
        if not osp.isfile(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def spans(self) -> dict:
        """``{step folder: (start, end)}`` of the last run of each."""
        spans = {}
        for event in self.events():
            if event['event'] == 'start':
                spans[event['name']] = [event['time'], None]
            else:
                spans[event['name']][1] = event['time']
        return spans


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    return StandIns(tmp_path)


def pipeline(tmp_path, text: str = PIPELINE) -> str:
    plain, student = tmp_path / 'plain.py', tmp_path / 'student.py'
    plain.write_text(PLAIN)
    student.write_text(STUDENT)
    path = tmp_path / 'pipeline.py'
    path.write_text(text.format(plain=str(plain), student=str(student)))
    return str(path)


def experiment(tmp_path, stand_ins, jobs, cores=8, **kwargs) -> Experiment:
    exp = Experiment(pipeline(tmp_path, **kwargs),
                     work_dir=str(tmp_path / 'work'),
                     tools_dir=stand_ins.dir,
                     jobs=jobs)
    exp.placement = Placement(jobs, devices=[], cores=cores)
    return exp


def most_at_once(spans) -> int:
    """The most spans open at one time."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_independent_steps_overlap_and_dependent_ones_wait(
        tmp_path, stand_ins, capsys):
    # tde ends long before xe: the records must still follow the config.
    stand_ins.plan(dict(xe=dict(sleep=1.5), tde=dict(sleep=0.2),
                        xerm_pc=dict(sleep=0.3), xerm_tde=dict(sleep=0.3)))
    exp = experiment(tmp_path, stand_ins, jobs=2)
    report = exp.run()
    spans = stand_ins.spans()
    assert sorted(spans) == sorted(STAGES + EVALUATIONS)
    # xe and tde at the same time, each in its own process.
    assert spans['tde'][0] < spans['xe'][1] and spans['xe'][0] < spans[
        'tde'][1]
    # A student after its teacher, an evaluation after its stage.
    needs = dict(xerm_pc='xe', xerm_tde='tde', XE='xe', PC='xe', TDE='tde')
    needs.update({'xERM-PC': 'xerm_pc', 'xERM-TDE': 'xerm_tde'})
    for step, need in needs.items():
        assert spans[step][0] >= spans[need][1], (step, need)
    # tde's student and evaluation ran while xe was still training.
    assert spans['xerm_tde'][0] < spans['xe'][1]
    assert most_at_once(spans.values()) == 2
    # Threads: cores // jobs for every tool (8 cores given above).
    starts = [e for e in stand_ins.events() if e['event'] == 'start']
    assert {e['omp'] for e in starts} == {'4'} and {
        e['cuda'] for e in starts} == {None}
    # The report and its costs follow the pipeline config.
    assert list(report['table4']) == EVALUATIONS
    assert list(report['cost']['stages']) == STAGES
    assert list(report['cost']['evaluations']) == EVALUATIONS
    assert report['table4']['XE'] == {'balanced': 50.0, 'ib10': 60.0}
    work = str(tmp_path / 'work')
    for name in STAGES:
        manifest = json.load(open(osp.join(work, name, 'manifest.json')))
        assert manifest['state'] == 'done'
        assert manifest['cost'] == report['cost']['stages'][name]
        assert manifest['cost']['images'] == 4 * 4  # 4 iterations, batch 4
    for name in EVALUATIONS:
        path = osp.join(work, 'eval', f'{name}.manifest.json')
        assert json.load(open(path))['state'] == 'done'
    costs = open(osp.join(work, 'report.md')).read().split('## Cost')[1]
    rows = [line.split(' | ')[0][2:] for line in costs.splitlines()
            if ' (train) | ' in line or ' (test) | ' in line]
    assert rows == [f'{s} (train)' for s in STAGES] + [
        f'{e} (test)' for e in EVALUATIONS]
    # One status line per logged step, naming the step; its own log.
    out = capsys.readouterr().out
    assert '[experiment] up to 2 steps at once (given)' in out
    assert '  xe (train) | epoch 1/2, iter 2/2, eta 0:00:01, loss 2.5000' in (
        out)
    assert '  xERM-TDE (test) | iter 1/1, eta 0:00:00' in out
    assert out.count(' | ended after ') == 9
    log = open(osp.join(work, 'xe', 'pipeline.log')).read()
    assert 'Epoch(train)  [1][2/2]' in log and 'Epoch(test)' not in log
    assert 'Epoch(test) [1/1]' in open(
        osp.join(work, 'eval', 'XE', 'pipeline.log')).read()
    # Run again: nothing is redone.
    before = len(stand_ins.events())
    again = experiment(tmp_path, stand_ins, jobs=2).run()
    assert len(stand_ins.events()) == before
    assert again['cost'] == report['cost']


def test_one_job_runs_the_steps_one_by_one_in_the_config_order(
        tmp_path, stand_ins):
    exp = experiment(tmp_path, stand_ins, jobs=1)
    exp.run()
    spans = stand_ins.spans()
    assert most_at_once(spans.values()) == 1
    assert sorted(spans, key=lambda name: spans[name][0]) == (
        STAGES + EVALUATIONS)
    # One job: the tools keep their own threads (no OMP_NUM_THREADS).
    assert {e['omp'] for e in stand_ins.events()
            if e['event'] == 'start'} == {None}


FAILING = """
stages = [
    dict(name='a', config={plain!r}),
    dict(name='b', config={plain!r}),
    dict(name='c', config={plain!r}),
    dict(name='d', config={plain!r}),
]
evaluations = [dict(name='A', stage='a')]
"""


def test_a_failure_stops_the_others_and_keeps_what_finished(
        tmp_path, stand_ins, capsys):
    stand_ins.plan(dict(a=dict(sleep=0), A=dict(sleep=0),
                        b=dict(sleep=3.0, exit=3), c=dict(sleep=60),
                        d=dict(sleep=60, end_on_term=True)))
    exp = experiment(tmp_path, stand_ins, jobs=4, text=FAILING)
    start = time.monotonic()
    with pytest.raises(ExperimentError) as error:
        exp.run()
    assert time.monotonic() - start < 30  # c did not sleep on
    work = str(tmp_path / 'work')
    message = str(error.value)
    log = osp.join(work, 'b', 'pipeline.log')
    assert message.startswith(
        f'stage b: train.py failed (exit 3); log: {log}\n')
    assert 'the stand-in fails as planned' in message
    assert '  b (train) | failed (exit 3) after ' in capsys.readouterr().out
    assert 'Stopped the steps running beside it: stage c.' in message
    events = {(e['name'], e['event']): e for e in stand_ins.events()}
    assert events[('c', 'stopped')]['signum'] == signal.SIGTERM
    assert not osp.exists(f'/proc/{events[("c", "start")]["pid"]}')
    # a and its evaluation ended before, d while the others stopped: their
    # records stay.
    state = {
        name: json.load(open(osp.join(work, name, 'manifest.json')))['state']
        for name in ('a', 'b', 'c', 'd')
    }
    assert state == dict(a='done', b='training', c='training', d='done')
    assert json.load(open(osp.join(work, 'eval', 'A.manifest.json')))[
        'state'] == 'done'
    # The next run keeps a and A, resumes b and c from their checkpoints.
    stand_ins.plan({})
    before = len(stand_ins.events())
    report = experiment(tmp_path, stand_ins, jobs=4, text=FAILING).run()
    rerun = [e for e in stand_ins.events()[before:] if e['event'] == 'start']
    assert sorted(e['name'] for e in rerun) == ['b', 'c']
    assert all('--resume' in e['args'] for e in rerun)
    assert list(report['cost']['stages']) == ['a', 'b', 'c', 'd']
    assert report['cost']['stages']['b']['resumed'] is True


def test_sigterm_stops_every_running_tool(tmp_path, stand_ins):
    stand_ins.plan(dict(xe=dict(sleep=60), tde=dict(sleep=60)))
    exp = experiment(tmp_path, stand_ins, jobs=2)

    def kill_when_both_run():
        deadline = time.time() + 30
        while time.time() < deadline:
            if len([e for e in stand_ins.events()
                    if e['event'] == 'start']) == 2:
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=kill_when_both_run)
    killer.start()
    try:
        with pytest.raises(Interrupted) as error:
            exp.run()
    finally:
        killer.join()
    assert error.value.signum == signal.SIGTERM
    events = stand_ins.events()
    stopped = sorted(e['name'] for e in events if e['event'] == 'stopped')
    assert stopped == ['tde', 'xe']
    assert not any(osp.exists(f'/proc/{e["pid"]}') for e in events)


def test_jobs_must_be_a_positive_int(tmp_path, stand_ins, capsys):
    config = pipeline(tmp_path)
    for bad in (0, -1, 1.5, '2', True):
        with pytest.raises(ExperimentError) as error:
            Experiment(config, tools_dir=stand_ins.dir, jobs=bad)
        assert str(error.value) == (
            'jobs (the steps run at once) must be an int >= 1, got '
            f'{bad!r}')
    parse_args = runpy.run_path(osp.join(ROOT, 'tools',
                                         'run_pipeline.py'))['parse_args']
    assert parse_args([config, '--jobs', '3']).jobs == 3
    assert parse_args([config]).jobs is None  # the default rule
    for bad in ('0', '-2', 'x', '1.5'):
        with pytest.raises(SystemExit) as error:
            parse_args([config, '--jobs', bad])
        assert error.value.code == 2
        assert ('argument --jobs: must be an int >= 1 (the steps run at '
                f"once), got {bad!r}") in capsys.readouterr().err


def test_default_jobs_from_the_devices(tmp_path, stand_ins, monkeypatch):
    assert default_jobs(gpus=0) == (1, 'no GPU: one training uses every '
                                    'core')
    assert default_jobs(gpus=1) == (2, '2 per GPU, 1 GPU(s)')
    assert default_jobs(gpus=4)[0] == 8
    config = pipeline(tmp_path)
    for devices, expected in (([], 1), (['0'], 2), (['0', '1'], 4)):
        monkeypatch.setattr(jobs_module, 'cuda_devices', lambda d=devices: d)
        exp = Experiment(config, tools_dir=stand_ins.dir)
        assert exp.jobs == expected
    # The GPUs the tools may use, as CUDA_VISIBLE_DEVICES names them.
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    assert cuda_devices() == ['0', '1']
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3, 5')
    assert cuda_devices() == ['3', '5']
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)
    assert cuda_devices() == []


def test_placement_threads_and_gpus(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    with Placement(1, devices=['0', '1'], cores=16).env(1) as env:
        assert env is None  # one job: the environment as it is
    place = Placement(4, devices=['0', '1'], cores=16)
    with place.env(1) as one, place.env(1) as two, place.env(1) as three:
        assert [e['CUDA_VISIBLE_DEVICES'] for e in (one, two, three)] == [
            '0', '1', '0'
        ]
        assert one['OMP_NUM_THREADS'] == '4'
    with place.env(1) as first:
        with place.env(2) as both:  # two processes: both GPUs
            assert both['CUDA_VISIBLE_DEVICES'] == '0,1'
        with place.env(1) as other:  # the least busy one
            assert other['CUDA_VISIBLE_DEVICES'] == '1'
        assert first['CUDA_VISIBLE_DEVICES'] == '0'
    with place.env(3) as many:  # more processes than GPUs: all visible
        assert 'CUDA_VISIBLE_DEVICES' not in many
    with Placement(2, devices=['0'], cores=3).env(1) as shared:
        assert shared == dict(os.environ, OMP_NUM_THREADS='1')
    monkeypatch.setenv('OMP_NUM_THREADS', '6')  # the user's is kept
    with Placement(2, devices=[], cores=16).env(1) as env:
        assert env is None  # inherited: OMP_NUM_THREADS=6
    with Placement(2, devices=['0', '1'], cores=16).env(1) as env:
        assert env['OMP_NUM_THREADS'] == '6'


def test_a_step_of_nproc_processes_counts_as_nproc_jobs():
    spans = {}

    def step(name, weight, needs=()):

        def run():
            spans[name] = [time.monotonic(), None]
            time.sleep(0.2)
            spans[name][1] = time.monotonic()

        return Step(name, tuple(needs), weight,
                    lambda: Launch(run, lambda result: None))

    # 'two' fills both jobs; 'big' (3 processes) runs alone.
    run_steps([step('two', 2), step('a', 1), step('b', 1), step('big', 3),
               step('after', 1, ['two'])], 2, ChildGroups())
    assert most_at_once([spans['two'], spans['a']]) == 1
    assert most_at_once([spans['two'], spans['b']]) == 1
    assert most_at_once([spans['a'], spans['b']]) == 2
    assert all(most_at_once([spans['big'], spans[other]]) == 1
               for other in ('two', 'a', 'b', 'after'))
    assert spans['after'][0] >= spans['two'][1]


def test_progress_lines():
    head = '11/27 13:27:46 - mmengine - INFO - '
    line = (head + 'Epoch(train)  [3][ 50/391]  base_lr: 1.0000e-01 lr: '
            '1.0000e-01  eta: 0:41:10  time: 0.0400  data_time: 0.0030  '
            'memory: 812  loss: 2.1000  loss_xe: 1.0\n')
    assert progress_line('xe (train)', line, 200) == (
        'xe (train) | epoch 3/200, iter 50/391, eta 0:41:10, loss 2.1000')
    val = head + ('Epoch(val) [10][4/4]    lt/top1: 39.8000  '
                  'lt/many_recall: 86.0000  data_time: 0.0050\n')
    assert progress_line('xe (train)', val, 30) == (
        'xe (train) | val epoch 10, iter 4/4, lt/top1 39.8000')
    test = head + 'Epoch(test) [4/4]    balanced/lt/top1: 95.2000\n'
    assert progress_line('PC (test)', test) == (
        'PC (test) | iter 4/4, balanced/lt/top1 95.2000')
    assert progress_line('xe (train)', head + 'Checkpoints saved\n') is None
    odd = head + 'Epoch(train) something new\n'
    assert progress_line('xe (train)', odd) == (
        'xe (train) | Epoch(train) something new')


def test_progress_line_of_each_test_set_names_that_set():
    # The lines closing the test sets, as tools/test.py logs them: each
    # repeats the metrics of the sets before it.
    head = '12/05 00:13:51 - mmengine - INFO - Epoch(test) [1/1]    '
    balanced = 'balanced/lt/top1: 10.0000  balanced/lt/many_recall: nan  '
    ib10 = 'ib10/lt/top1: 30.0000  ib10/lt/many_recall: 5.0000  '
    tail = 'data_time: 0.0039  time: 0.1110\n'
    assert progress_line('XE (test)', head + balanced + tail) == (
        'XE (test) | iter 1/1, balanced/lt/top1 10.0000')
    assert progress_line('XE (test)', head + balanced + ib10 + tail) == (
        'XE (test) | iter 1/1, ib10/lt/top1 30.0000')
    # Per view of the head (test_cfg.views): the set and the view.
    views = ''.join(f'{s}/{v}_view/lt/top1: {n}.0000  '
                    for n, (v, s) in enumerate(
                        [(v, s) for v in ('imbalanced', 'balanced')
                         for s in ('balanced', 'ib10')]))
    assert progress_line('PC (test)', head + views + tail) == (
        'PC (test) | iter 1/1, ib10/balanced_view/lt/top1 3.0000')
