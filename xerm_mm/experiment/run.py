"""Run an experiment on Snakemake: ``python -m xerm_mm.experiment PIPELINE``.

The front of the engine: it checks the pipeline config, locks the work dir
(one run at a time), writes the plan (:mod:`xerm_mm.experiment.plan`) to
``{work_dir}/.plans/{digest}.json`` and runs Snakemake on the package's
Snakefile, which runs every step that is not up to date, then the report.
The options: docs/methods.md ("On Snakemake").
"""
import argparse
import functools
import os
import os.path as osp
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import List, Optional

import yaml

from xerm_mm.utils.work_dir_lock import WorkDirBusyError, WorkDirLock
from .checks import ExperimentError
from .plan import Plan, make_plan, report_step

PROG = 'xerm_mm.experiment'
SNAKEFILE = osp.join(osp.dirname(osp.abspath(__file__)), 'Snakefile')
#: The SLURM profile of the package (``--profile`` of Snakemake).
SLURM_PROFILE = osp.join(osp.dirname(osp.abspath(__file__)), 'profiles',
                         'slurm')


class RunLock(WorkDirLock):
    """The lock of one run on a work dir (``{work_dir}/.run.lock``).

    A kernel ``flock``: the OS frees it when the front and the Snakemake
    process it starts (which holds it too) are gone, however they ended.

    Args:
        work_dir (str): The experiment's work dir.
        command (str): This run's command, shown to a refused one.
    """

    def __init__(self, work_dir: str, command: str = '') -> None:
        super().__init__(work_dir, command)
        self.path = osp.join(work_dir, '.run.lock')

    @property
    def fd(self) -> Optional[int]:
        return self._fd

    def _busy_message(self, holder: Optional[dict]) -> str:
        who = (f"pid {holder.get('pid')} on host {holder.get('host')}, "
               f"started {holder.get('started')}: {holder.get('command')}"
               if holder else 'a run that is starting')
        return (f'{self.work_dir} is in use by another run ({who}; its '
                'Snakemake holds the lock on after the front was killed). '
                'Wait for it to end, stop it, or give another --work-dir.')


def jobs_count(text: str) -> int:
    """``--jobs``: an int >= 1."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(
            f'must be an int >= 1 (the steps run at once), got {text!r}')
    return jobs


def given_checkpoint(text: str) -> tuple:
    """``--checkpoint``: ``STAGE=FILE``."""
    stage, sep, path = text.partition('=')
    if not sep or not stage or not path:
        raise argparse.ArgumentTypeError(
            f'must be STAGE=FILE (e.g. xe=checkpoints/xe.pth), got {text!r}')
    return stage, path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config', help='pipeline config file (the stages of the experiment)')
    parser.add_argument(
        '--work-dir', help='root of the stages (default work_dirs/NAME)')
    parser.add_argument(
        '--data-root',
        help='folder of the dataset, passed to every training and test')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='key=value overrides for every training and test config (the '
        "students' teacher configs included)")
    parser.add_argument(
        '--checkpoint', action='append', default=[], metavar='STAGE=FILE',
        type=given_checkpoint,
        help='use FILE as stage STAGE\'s final checkpoint instead of '
        'training it (checked: weights-only, finite); repeatable')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch'], default='none',
        help='pytorch: run every step under torchrun (a step with nproc > 1 '
        'always does)')
    parser.add_argument(
        '--nproc', type=int, default=1,
        help='processes of every step whose pipeline config entry gives no '
        'nproc (default 1)')
    parser.add_argument(
        '--jobs', type=jobs_count, default=None,
        help='steps run at once (a step of nproc processes counts as nproc; '
        'default: 2 per GPU, 1 on the CPU); on a cluster: jobs submitted at '
        'once')
    parser.add_argument(
        '--device', choices=['auto', 'cpu', 'cuda'], default='auto',
        help='cuda: every process of a step gets a GPU (a cluster job asks '
        'for them); auto: cuda when this machine has one')
    parser.add_argument(
        '--resume', action='store_true',
        help='kept for older commands: every run redoes the steps whose '
        'outputs a killed run left marked incomplete (a training from its '
        'last checkpoint)')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the steps that would run, why, and their commands; run '
        'nothing')
    parser.add_argument(
        '--slurm', action='store_true',
        help='submit every step as a SLURM job (the package\'s SLURM '
        'profile; see docs/gpu.md)')
    parser.add_argument(
        '--engine-options', default='',
        help='more Snakemake options, one string, e.g. "--keep-going" or '
        '"--executor slurm --default-resources slurm_partition=gpu"')
    return parser.parse_args(argv)


# What a loaded GPU driver shows on Linux (NVIDIA: its /proc folder, its
# device files once made; ROCm; WSL 2): without any, torch sees no GPU, and
# the front need not import torch (1.7 s) to know.
GPU_DEVICE_FILES = ('/proc/driver/nvidia', '/dev/nvidiactl', '/dev/kfd',
                    '/dev/dxg')


@functools.lru_cache(maxsize=None)
def _cuda_count() -> int:
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if (visible is not None and visible.strip() in ('', '-1')) or (
            sys.platform.startswith('linux')
            and not any(osp.exists(p) for p in GPU_DEVICE_FILES)):
        return 0
    try:
        import torch
        return torch.cuda.device_count()
    except Exception:  # a broken driver counts as no GPU
        return 0


def _cores() -> int:
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def env_threads() -> Optional[int]:
    """The threads of a step that ``OMP_NUM_THREADS`` gives, if set
    (Snakemake sets it for every step: a value the user set is kept)."""
    text = os.environ.get('OMP_NUM_THREADS')
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ExperimentError(
            f'OMP_NUM_THREADS={text!r}: must be an int >= 1 (the threads of '
            'each step), or unset (cores // --jobs)')
    return int(text)


def build(args) -> Plan:
    """The plan of ``args`` (checked; nothing written)."""
    gpus = _cuda_count()
    use_gpus = args.device == 'cuda' or (args.device == 'auto'
                                         and gpus > 0)
    jobs = args.jobs or (2 * gpus if gpus else 1)
    return make_plan(args.config, args.work_dir, args.data_root,
                     args.cfg_options, args.launcher, args.nproc,
                     jobs=jobs if not args.slurm else 1, gpus=use_gpus,
                     cores=_cores(), threads=env_threads(),
                     checkpoints=dict(args.checkpoint))


def write_plan(plan: Plan, folder: str) -> str:
    """Add the report's step and write the plan to ``folder``; return the
    file. The report reads the plan from ``{work_dir}/.plans/{digest}.json``
    (named by its digest: runs with other plans never share one; a dry run
    writes its copy elsewhere, and its commands are the real run's)."""
    os.makedirs(folder, exist_ok=True)
    name = f'{plan.digest}.json'
    plan.steps.append(report_step(
        plan, osp.join(plan.work_dir, '.plans', name), sys.executable))
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write(plan.to_json())
    return path


def snakemake_command(args, plan: Plan, plan_file: str) -> List[str]:
    """The Snakemake command line of a run."""
    gpus = _cuda_count()
    jobs = args.jobs or (2 * gpus if gpus else 1)
    cmd = [sys.executable, '-m', 'snakemake', '--snakefile', SNAKEFILE,
           '--directory', plan.work_dir, '--config', f'plan={plan_file}',
           '--printshellcmds']
    if args.slurm:
        cmd += ['--profile', SLURM_PROFILE, '--jobs', str(jobs)]
    else:
        # A step of nproc processes takes nproc slots; threads per step:
        # cores // jobs (the plan's).
        cmd += ['--cores', str(plan.threads * jobs),
                '--resources', f'slots={jobs}']
        if plan.gpus:
            cmd.append(f'gpu={max(gpus, 1) * jobs}')
    if args.resume or not args.dry_run:
        # One run per work dir (the run lock): files marked incomplete are
        # a killed run's, redone (a training from its last checkpoint).
        cmd.append('--rerun-incomplete')
    if args.dry_run:
        cmd.append('--dry-run')
    options = shlex.split(args.engine_options)
    if args.slurm and '--profile' not in options:
        options = with_profile_defaults(options)
    return cmd + options


def with_profile_defaults(options: List[str]) -> List[str]:
    """``options`` whose ``--default-resources`` keep the SLURM profile's
    defaults that they do not set (Snakemake would drop all of the
    profile's: a job would get 1000 MB and no wall time)."""
    if '--default-resources' not in options:
        return options
    with open(osp.join(SLURM_PROFILE, 'config.yaml')) as f:
        profile = yaml.safe_load(f)
    start = options.index('--default-resources') + 1
    end = start
    while end < len(options) and not options[end].startswith('-'):
        end += 1
    given = {item.split('=', 1)[0] for item in options[start:end]}
    kept = [f'{key}={value}' for key, value in
            profile.get('default-resources', {}).items() if key not in given]
    return options[:start] + kept + options[start:]


def run(cmd: List[str], keep_fd: Optional[int] = None) -> int:
    """Run Snakemake in a process group of its own, with its local jobs.

    SIGINT / SIGTERM reach the whole group as SIGINT, as Ctrl-C in a
    terminal: the running tools stop, and Snakemake removes their
    unfinished outputs and its lock (a SIGTERM of its own would wait for
    the running jobs to end; a SIGINT of its own does not stop them).
    The handlers are set before Snakemake starts, so that it and its jobs
    take SIGINT even where this process was started ignoring or blocking
    it (a background job of a script: ``cmd &``).
    ``keep_fd`` (the run's lock) stays open in Snakemake: the work dir is
    held as long as Snakemake runs, even if this process is killed.
    """
    started = []
    stopping = []

    def forward(signum, frame):
        print(f'{PROG}: {signal.Signals(signum).name}: stopping the run '
              '(SIGINT to Snakemake and its jobs)', file=sys.stderr,
              flush=True)
        stopping.append(signum)
        for proc in started:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:  # it ended meanwhile
                pass

    stop_signals = (signal.SIGINT, signal.SIGTERM)
    # A caught signal is SIG_DFL in the child; an ignored one stays ignored.
    previous = {s: signal.signal(s, forward) for s in stop_signals}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    try:
        proc = subprocess.Popen(
            cmd, start_new_session=True,
            pass_fds=() if keep_fd is None else (keep_fd, ))
        started.append(proc)
        if stopping:  # a signal came while it started
            os.killpg(proc.pid, signal.SIGINT)
        return proc.wait()
    finally:
        for s, handler in previous.items():
            if handler is not None:  # None: not set from Python
                signal.signal(s, handler)


def _listed(folder: str) -> bool:
    return osp.isdir(folder) and bool(os.listdir(folder))


def _dry_run(args, plan: Plan, plan_file: str) -> int:
    """Print every step's command, then what Snakemake would run."""
    print('Steps of the plan (each runs by hand as printed; RESUME / '
          'OPTIONS are set by the helpers before it):')
    for step in plan.steps:
        print(f'\n[{step.name}]\n{step.command}')
    print()
    sys.stdout.flush()
    code = run(snakemake_command(args, plan, plan_file))
    if code:
        _exit(args, plan, code)
    return 0


def _exit(args, plan: Plan, code: int) -> None:
    """Exit with Snakemake's ``code``, saying why where the work dir
    shows it."""
    snakemake = osp.join(plan.work_dir, '.snakemake')
    if _listed(osp.join(snakemake, 'locks')):
        print(f'{PROG}: {plan.work_dir} is locked by a Snakemake that '
              'this command did not start', file=sys.stderr)
    sys.exit(code)


def unlock_stale(args, plan: Plan, plan_file: str, lock: RunLock) -> None:
    """Remove a Snakemake lock that a killed run left in the work dir (we
    hold the run lock: no Snakemake of ours runs there), saying so."""
    if not _listed(osp.join(plan.work_dir, '.snakemake', 'locks')):
        return
    print(f'{PROG}: removing the Snakemake lock a killed run left in '
          f'{plan.work_dir}/.snakemake/locks', file=sys.stderr, flush=True)
    cmd = snakemake_command(args, plan, plan_file) + ['--unlock', '--quiet']
    code = subprocess.run(
        cmd, stdout=subprocess.DEVNULL,
        pass_fds=() if lock.fd is None else (lock.fd, )).returncode
    if code:
        sys.exit(f'{PROG}: snakemake --unlock failed ({code}) in '
                 f'{plan.work_dir}')


def main(argv=None) -> Optional[int]:
    args = parse_args(argv)
    try:
        plan = build(args)
    except (ExperimentError, FileNotFoundError) as e:
        sys.exit(f'{PROG}: {e}')
    if args.dry_run:  # nothing is written in the work dir
        folder = tempfile.mkdtemp(prefix='xerm-plan-')
    else:
        folder = osp.join(plan.work_dir, '.plans')
    if args.dry_run:
        plan_file = write_plan(plan, folder)
        try:
            return _dry_run(args, plan, plan_file)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    lock = RunLock(plan.work_dir, ' '.join(map(shlex.quote, sys.argv)))
    try:
        lock.acquire()
    except WorkDirBusyError as error:
        sys.exit(f'{PROG}: {error}')
    try:
        plan_file = write_plan(plan, folder)
        unlock_stale(args, plan, plan_file, lock)
        code = run(snakemake_command(args, plan, plan_file), lock.fd)
    finally:
        lock.release()
    if code:
        _exit(args, plan, code)
    report = osp.join(plan.work_dir, 'report.md')
    if osp.isfile(report):
        with open(report) as f:
            print(f.read())
    else:  # Snakemake options that stop short of the report (--unlock, ...)
        print(f'{PROG}: no report yet ({report}); run without those '
              '--engine-options to make it')
    return 0
