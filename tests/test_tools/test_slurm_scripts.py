"""tools/slurm_{train,test}.sh (with a fake ``srun``) and ``--launcher slurm``
in the tools and the runner; no slurm needed."""
import os
import os.path as osp
import subprocess

import pytest
import torch
from inprocess_tool import ROOT, load_tool

SCRIPTS = ('tools/slurm_train.sh', 'tools/slurm_test.sh', 'tools/slurm_run.sh')
# Prints the arguments it got, one per line, as the srun command line.
FAKE_SRUN = '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n'


@pytest.mark.parametrize('script', SCRIPTS)
def test_script_is_valid_bash(script):
    subprocess.run(['bash', '-n', osp.join(ROOT, script)], check=True)


def run_script(script, args, tmp_path, **env):
    srun = tmp_path / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}', **env)
    return subprocess.run(['bash', osp.join(ROOT, script), *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_slurm_train_command(tmp_path):
    proc = run_script(
        'tools/slurm_train.sh',
        ['gpu', 'xe', 'CONFIG.py', 'work_dirs/xe', '--auto-scale-lr'],
        tmp_path, GPUS='16', SRUN_ARGS='--time=2:00:00 --qos=high',
        PYTHON='py')
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.split('\n')[:-1]
    assert args[:8] == [
        '-p', 'gpu', '--job-name=xe', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1'
    ]
    assert args[8:10] == ['--time=2:00:00', '--qos=high']
    assert args[10:12] == ['py', '-u']
    assert args[12].endswith('tools/train.py')
    assert args[13:] == ['CONFIG.py', '--work-dir=work_dirs/xe',
                         '--launcher', 'slurm', '--auto-scale-lr']


def test_slurm_test_command(tmp_path):
    proc = run_script('tools/slurm_test.sh',
                      ['gpu', 'ev', 'CONFIG.py', 'epoch_90.pth'], tmp_path,
                      GPUS='2', CPUS_PER_TASK='4', PYTHON='py')
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.split('\n')[:-1]
    assert '--gres=gpu:2' in args and '--ntasks-per-node=2' in args
    assert '--cpus-per-task=4' in args
    assert args[-4:] == ['CONFIG.py', 'epoch_90.pth', '--launcher', 'slurm']
    assert args[-5].endswith('tools/test.py')


@pytest.mark.parametrize('script', SCRIPTS)
def test_missing_arguments_give_usage(script, tmp_path):
    proc = run_script(script, ['gpu', 'job'], tmp_path)
    assert proc.returncode == 2
    assert 'usage:' in proc.stderr and proc.stdout == ''


def test_tools_accept_launcher_slurm(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args sets it if unset
    train = load_tool('train')
    args = train.parse_args(['CONFIG.py', '--launcher', 'slurm'])
    assert args.launcher == 'slurm'
    test = load_tool('test')
    args = test.parse_args(['CONFIG.py', 'CKPT.pth', '--launcher', 'slurm'])
    assert args.launcher == 'slurm'


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='with CUDA the slurm launcher starts NCCL')
def test_runner_refuses_slurm_without_cuda(tmp_path):
    from xerm_mm.engine.runner import XERMRunner
    with pytest.raises(RuntimeError, match='slurm.*needs CUDA.*torchrun'):
        XERMRunner(model=dict(type='mmpretrain.ImageClassifier'),
                   work_dir=str(tmp_path), launcher='slurm')
