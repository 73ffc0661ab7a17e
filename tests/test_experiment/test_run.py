"""xerm_mm.experiment.run: one run per work dir (a kernel lock that outlives
neither the front nor its Snakemake), and a run killed with SIGKILL goes on
when run again (its stale Snakemake lock removed, its stage resumed)."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import psutil

from conftest import ROOT, small_cifar10_config
from pipeline_setup import BASES

HERE = osp.dirname(osp.abspath(__file__))

PIPELINE = """
stages = [dict(name='xe', config={xe!r})]
evaluations = [dict(name='XE', stage='xe')]
"""


def front(config, work, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (HERE, env.get('PYTHONPATH')) if p)
    return subprocess.Popen(
        [sys.executable, osp.join(ROOT, 'tools', 'run_pipeline.py'), config,
         '--work-dir', work], cwd=ROOT, env=env, text=True, **kwargs)


def run(config, work):
    proc = front(config, work, stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def test_a_sigkilled_run_goes_on(fake_cifar10_root, tmp_path):
    hold = str(tmp_path / 'hold')
    held = ("train_cfg.update(max_epochs=2)\n"
            "custom_imports = dict(imports=['xerm_mm', 'pause_hook'], "
            'allow_failed_imports=False)\n'
            f'custom_hooks = [dict(type="PauseAfterFirstEpoch", '
            f'flag={hold!r})]\n')
    xe = small_cifar10_config(BASES['xe'], fake_cifar10_root, str(tmp_path),
                              held)
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(xe=xe))
    work = str(tmp_path / 'work')
    open(hold, 'w').close()
    log = open(tmp_path / 'first.log', 'w')
    first = front(str(config), work, stdout=log, stderr=subprocess.STDOUT)
    engine = []
    try:
        start = time.monotonic()
        while not osp.exists(f'{hold}.paused'):
            assert first.poll() is None, open(tmp_path / 'first.log').read()
            assert time.monotonic() - start < 300
            time.sleep(0.2)
        code, out = run(str(config), work)
        assert code != 0 and (f'{work} is in use by another run (pid '
                              f'{first.pid}') in out
        # The front killed: its Snakemake holds the work dir on.
        engine = psutil.Process(first.pid).children()
        first.kill()
        first.wait()
        code, out = run(str(config), work)
        assert code != 0 and 'is in use by another run' in out
    finally:
        # Then everything killed (Snakemake and the training too).
        for proc in engine:
            os.killpg(proc.pid, signal.SIGKILL)
        if first.poll() is None:
            first.kill()
        os.remove(hold)
    assert os.listdir(osp.join(work, '.snakemake', 'locks'))
    code, out = run(str(config), work)
    assert code == 0, out[-4000:]
    assert 'removing the Snakemake lock a killed run left' in out
    record = json.load(open(osp.join(work, 'xe', 'final.json')))
    assert record['resumed'] is True and record['epoch'] == 2
    assert '| XE |' in out
    locks = osp.join(work, '.snakemake', 'locks')
    assert not osp.isdir(locks) or not os.listdir(locks)


def test_gpus_counted_by_torch_only_where_a_gpu_driver_is(monkeypatch,
                                                          tmp_path):
    """Without a driver's device file the front does not ask torch (whose
    import costs seconds); with one, or CUDA_VISIBLE_DEVICES hiding all,
    the count is torch's / none."""
    import torch

    from xerm_mm.experiment import run as front
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 3)
    monkeypatch.setattr(sys, 'platform', 'linux')
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    device = tmp_path / 'nvidiactl'
    monkeypatch.setattr(front, 'GPU_DEVICE_FILES', (str(device), ))
    counts = []
    for visible in (None, '0,1', '', '-1'):
        if visible is not None:
            monkeypatch.setenv('CUDA_VISIBLE_DEVICES', visible)
        for present in (False, True):
            if present:
                device.touch()
            elif device.exists():
                device.unlink()
            front._cuda_count.cache_clear()
            counts.append(front._cuda_count())
    front._cuda_count.cache_clear()
    assert counts == [0, 3, 0, 3, 0, 0, 0, 0]
