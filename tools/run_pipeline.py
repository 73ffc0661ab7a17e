"""Run an experiment: ``python tools/run_pipeline.py PIPELINE_CONFIG``.

A pipeline config lists the stages of an experiment (see
:class:`xerm_mm.apis.Experiment`): this trains every stage (teachers, then
xERM students; a stage may start from an earlier stage's checkpoint,
``init_from``, or train nothing and run a chooser tool on it, ``post_hoc``,
see :mod:`xerm_mm.apis.post_hoc`), evaluates the methods on the balanced and the imbalanced
test sets, and writes ``report.json`` and ``report.md`` (the paper's
tables, named and with the paper's numbers as the config's ``report`` key
says, default Tables 1 and 4; and a "Cost" table: wall time, device,
images/s and peak memory of every step; beside the tables the prediction
histograms and the unbiasedness curve, in ``figures/``, unless the config
says ``report = dict(figures=False)``) in the work dir. ``--cfg-options``
apply to every training and test config, and to the teacher configs that
the xERM students name. Run it again after an interruption: finished
stages and evaluations whose inputs did not change are kept, an interrupted
stage resumes, anything else is redone (see the work dir's manifest.json
files).

``--jobs N``: steps that do not need each other run at once, each tool in
its own process with its own log (a stage needs its teacher, ``init_from``
or ``post_hoc`` stages, an evaluation its stage; a step of ``nproc`` processes counts as ``nproc``).
The default is 2 per GPU with CUDA and 1 on the CPU (where one training
uses every core); with N above 1 each tool process gets ``cores // N``
threads (``OMP_NUM_THREADS``, unless set) and, with several GPUs, the least
busy GPU(s). Every running step prints one line per logged iteration
(``xe (train) | epoch 3/200, iter 50/98, eta 0:41:10, loss 2.1``). A
failing step stops the others (SIGTERM, waited for); the steps finished
before are kept, and the message names the failed step and its log.

One pipeline per work dir (a lock on the folder itself, the holder's pid in
``pipeline.lock``; a second one is refused with that pid, even if the file
was deleted). SIGINT / SIGTERM stop the running train.py / test.py
(forwarded to their process groups and waited for) and exit with 128 + the
signal number; if this process is SIGKILL-ed, the kernel sends the running
tools SIGTERM (Linux, ``PR_SET_PDEATHSIG``).
"""
import argparse
import os.path as osp
import sys

from xerm_mm.apis import Experiment, ExperimentError, Interrupted
from xerm_mm.apis.jobs import check_jobs


def jobs_count(text: str) -> int:
    """``--jobs``: an int >= 1."""
    try:
        return check_jobs(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be an int >= 1 (the steps run at once), got {text!r}')


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
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides for every training and test config (the '
        "students' teacher configs included)")
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch'],
        default='none',
        help='pytorch: run every step under torchrun (a step with nproc > 1 '
        'always does)')
    parser.add_argument(
        '--nproc',
        type=int,
        default=1,
        help='processes of every step whose pipeline config entry gives no '
        'nproc (default 1)')
    parser.add_argument(
        '--jobs',
        type=jobs_count,
        default=None,
        help='steps run at once when they do not need each other (a step '
        'of nproc processes counts as nproc; default: 2 per GPU, 1 on the '
        'CPU)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        experiment = Experiment(
            args.config,
            work_dir=args.work_dir,
            data_root=args.data_root,
            cfg_options=args.cfg_options,
            launcher=args.launcher,
            nproc=args.nproc,
            jobs=args.jobs)
        experiment.run()
    except (ExperimentError, FileNotFoundError) as e:
        sys.exit(f'run_pipeline: {e}')
    except Interrupted as e:
        print(f'run_pipeline: {e}', file=sys.stderr, flush=True)
        sys.exit(128 + e.signum)
    with open(osp.join(experiment.work_dir, 'report.md')) as f:
        print(f.read())


if __name__ == '__main__':
    main()
