"""Run an experiment on Snakemake: ``python -m xerm_mm.experiment PIPELINE``.

The front of the engine: it checks the pipeline config and writes its plan
(:mod:`xerm_mm.experiment.plan`) to ``{work_dir}/.plans/{digest}.json``,
then runs Snakemake on the package's Snakefile in the work dir, which runs
every step that is not up to date and then the report. What each option
becomes is in docs/methods.md ("Pipelines on Snakemake").
"""
import argparse
import os
import os.path as osp
import shlex
import signal
import subprocess
import sys
import tempfile
from typing import List, Optional

from xerm_mm.apis.validate import ExperimentError
from .plan import Plan, make_plan, report_step

SNAKEFILE = osp.join(osp.dirname(osp.abspath(__file__)), 'Snakefile')
#: The SLURM profile of the package (``--profile`` of Snakemake).
SLURM_PROFILE = osp.join(osp.dirname(osp.abspath(__file__)), 'profiles',
                         'slurm')


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
        help='go on after an interruption: the steps it left unfinished run '
        'again, an interrupted training from its last checkpoint')
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


def _cuda_count() -> int:
    try:
        import torch
        return torch.cuda.device_count()
    except Exception:  # a broken driver counts as no GPU
        return 0


def _cores() -> int:
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def build(args) -> Plan:
    """The plan of ``args`` (checked; nothing written)."""
    gpus = _cuda_count()
    use_gpus = args.device == 'cuda' or (args.device == 'auto'
                                         and gpus > 0)
    jobs = args.jobs or (2 * gpus if gpus else 1)
    return make_plan(args.config, args.work_dir, args.data_root,
                     args.cfg_options, args.launcher, args.nproc,
                     jobs=jobs if not args.slurm else 1, gpus=use_gpus,
                     cores=_cores())


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
    if args.resume:
        cmd.append('--rerun-incomplete')
    if args.dry_run:
        cmd.append('--dry-run')
    cmd += shlex.split(args.engine_options)
    return cmd


def run(cmd: List[str]) -> int:
    """Run Snakemake; SIGINT / SIGTERM are passed on to it (it stops its
    jobs and cleans up their unfinished outputs)."""
    proc = subprocess.Popen(cmd)

    def forward(signum, frame):
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward)
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _listed(folder: str) -> bool:
    return osp.isdir(folder) and bool(os.listdir(folder))


def main(argv=None) -> Optional[int]:
    args = parse_args(argv)
    try:
        plan = build(args)
    except (ExperimentError, FileNotFoundError) as e:
        sys.exit(f'run_pipeline: {e}')
    if args.dry_run:  # nothing is written in the work dir
        folder = tempfile.mkdtemp(prefix='xerm-plan-')
    else:
        folder = osp.join(plan.work_dir, '.plans')
    plan_file = write_plan(plan, folder)
    if args.dry_run:
        print('Steps of the plan (each runs by hand as printed; RESUME / '
              'OPTIONS are set by the helpers before it):')
        for step in plan.steps:
            print(f'\n[{step.name}]\n{step.command}')
        print()
        sys.stdout.flush()
    code = run(snakemake_command(args, plan, plan_file))
    if code:
        snakemake = osp.join(plan.work_dir, '.snakemake')
        if _listed(osp.join(snakemake, 'locks')):
            print(f'run_pipeline: {plan.work_dir} is locked: another run is '
                  'on it, or a killed one left its lock (then add '
                  "--engine-options=--unlock once)", file=sys.stderr)
        elif not args.resume and _listed(osp.join(snakemake, 'incomplete')):
            print('run_pipeline: an earlier run was interrupted; add '
                  '--resume to go on from where it stopped',
                  file=sys.stderr)
        sys.exit(code)
    if not args.dry_run:
        with open(osp.join(plan.work_dir, 'report.md')) as f:
            print(f.read())
    return 0
