"""Stand-ins of sbatch, sacct, squeue, srun, scancel: a job runs here.

Each command is a link to this file's wrapper (see ``install``); jobs are
kept in ``$SLURM_STANDIN_DIR`` (``{id}.name``, ``{id}.state``, ``calls``).
"""
import os
import os.path as osp
import subprocess
import sys

STATE = os.environ.get('SLURM_STANDIN_DIR', '/tmp')
COMMANDS = ('sbatch', 'sacct', 'squeue', 'srun', 'scancel', 'sinfo',
            'sacctmgr', 'sshare', 'scontrol')


def install(bin_dir: str, state_dir: str) -> None:
    """Write a wrapper of every command into ``bin_dir``."""
    os.makedirs(bin_dir, exist_ok=True)
    for name in COMMANDS:
        path = osp.join(bin_dir, name)
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\nSLURM_STANDIN_DIR={state_dir} exec '
                    f'{sys.executable} {osp.abspath(__file__)} {name} "$@"\n')
        os.chmod(path, 0o755)


def _value(args, name):
    for i, arg in enumerate(args):
        if arg == name:
            return args[i + 1]
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
    return None


def sbatch(args):
    ids = [int(f.split('.')[0]) for f in os.listdir(STATE)
           if f.endswith('.name')]
    job = str(max(ids, default=1000) + 1)
    script = _value(args, '--wrap')
    if script is None:
        script = sys.stdin.read()
    with open(osp.join(STATE, f'{job}.name'), 'w') as f:
        f.write(_value(args, '--job-name') or '')
    with open(osp.join(STATE, f'{job}.script'), 'w') as f:
        f.write(script)
    with open(osp.join(STATE, 'calls'), 'a') as f:
        f.write('sbatch ' + ' '.join(args) + '\n')
    log = (_value(args, '--output') or 'slurm-%j.out').replace('%j', job)
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    subprocess.Popen([sys.executable, __file__, '_job', job, log],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(job)


def _job(job, log):
    with open(osp.join(STATE, f'{job}.state'), 'w') as f:
        f.write('RUNNING')
    env = dict(os.environ, SLURM_JOB_ID=job, SLURM_JOBID=job)
    with open(osp.join(STATE, f'{job}.script')) as f:
        script = f.read()
    with open(log, 'w') as out:
        code = subprocess.call(['sh', '-c', script], env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    with open(osp.join(STATE, f'{job}.state'), 'w') as f:
        f.write('COMPLETED' if code == 0 else 'FAILED')


def sacct(args):
    name = _value(args, '--name')
    for f in sorted(os.listdir(STATE)):
        if not f.endswith('.name'):
            continue
        job = f.split('.')[0]
        if open(osp.join(STATE, f)).read() != name:
            continue
        state = osp.join(STATE, f'{job}.state')
        print(f'{job}|' + (open(state).read() if osp.isfile(state)
                           else 'PENDING'))


def srun(args):
    while args and args[0].startswith('-'):
        args = args[1:]
    os.execvp(args[0], args)


def main():
    name, args = sys.argv[1], sys.argv[2:]
    if name == '_job':
        _job(*args)
    elif name == 'sbatch':
        sbatch(args)
    elif name == 'sacct':
        sacct(args)
    elif name == 'srun':
        srun(args)
    elif name == 'scontrol':
        print('MinJobAge = 300 sec')
    # squeue, scancel, sinfo, sacctmgr, sshare: nothing to say


if __name__ == '__main__':
    main()
