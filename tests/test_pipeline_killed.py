"""Pipelines through the real tools where the stage is stopped or
stretched: a pipeline killed (SIGTERM, SIGKILL) while it trains leaves no
tool running and a rerun resumes exactly; a budget-matched stage trains
the stretched schedule."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from pipeline_setup import configs, one_stage_pipeline  # noqa: F401
from pipeline_setup import run_pipeline
from xerm_mm.utils.atomic import sha256_of


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
