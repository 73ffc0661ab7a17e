"""Training throughput of N cores: one process with N threads against N
one-thread processes at once (a pipeline's ``--jobs N``).

    python tools/benchmarks/threads_or_processes.py [--cores 2] [--amp]

Every process times the XE (or ``--xerm``: the xERM-PC) training step of
tools/benchmarks/train_step.py on synthetic batches; the N processes start
timing together and their images/s add up. Prints both and ``ratio
processes_over_threads`` (docs/get_started.md, "Benchmark").
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cores', type=int,
                        default=len(os.sched_getaffinity(0)))
    parser.add_argument('--xerm', action='store_true',
                        help='time the xERM-PC step instead of XE\'s')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast, as tools/train.py --amp on a CPU')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--steps', type=int, default=8,
                        help='timed steps per process and round')
    parser.add_argument('--rounds', type=int, default=2,
                        help='rounds that alternate the two set-ups; the '
                        'best of each counts')
    # One timing process (internal): --worker THREADS READY_DIR PEERS
    parser.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker(args) -> float:
    """Build one step, wait for the peers to be built, time it, print
    images/s as JSON and return it."""
    import torch
    threads, ready, peers = args.worker
    torch.set_num_threads(int(threads))
    sys.path.insert(0, HERE)
    from train_step import (DEFAULT_CONFIG, XERM_CONFIG, framework_step_fn,
                            make_batches, model_cfg, time_steps,
                            to_channels_last, xerm_model)
    from mmengine.config import Config

    from xerm_mm.registry import MODELS
    from xerm_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(ROOT, XERM_CONFIG if args.xerm else DEFAULT_CONFIG))
    batches = make_batches(4, args.batch, cfg.model.head.num_classes)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        model = (xerm_model(cfg.copy(), folder) if args.xerm else
                 MODELS.build(model_cfg(cfg)))
    step = framework_step_fn(cfg, batches, to_channels_last(model), args.amp)
    open(osp.join(ready, str(os.getpid())), 'w').close()
    while len(os.listdir(ready)) < int(peers):
        time.sleep(0.01)
    images_per_s = args.batch / time_steps(step, args.steps)
    print(json.dumps(dict(images_per_s=images_per_s)))
    return images_per_s


def run_together(args, processes, threads):
    """images/s of ``processes`` workers of ``threads`` threads, summed."""
    flags = ['--batch', str(args.batch), '--steps', str(args.steps)]
    flags += ['--xerm'] * args.xerm + ['--amp'] * args.amp
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as ready:
        procs = [subprocess.Popen(
            [sys.executable, __file__, *flags, '--worker', str(threads),
             ready, str(processes)], env=env, stdout=subprocess.PIPE,
            text=True) for _ in range(processes)]
        outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        sys.exit(f'a timing process failed: {outs}')
    return sum(json.loads(o.strip().splitlines()[-1])['images_per_s']
               for o in outs)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    best = dict(threads=0.0, processes=0.0)
    for _ in range(args.rounds):
        best['threads'] = max(best['threads'],
                              run_together(args, 1, args.cores))
        best['processes'] = max(best['processes'],
                                run_together(args, args.cores, 1))
    step = 'xERM-PC' if args.xerm else 'XE'
    print(f'cores {args.cores} batch {args.batch} {step} step'
          f'{" bf16" if args.amp else ""}')
    print(f'1 process x {args.cores} threads   '
          f'{best["threads"]:8.1f} images/s')
    print(f'{args.cores} processes x 1 thread    '
          f'{best["processes"]:8.1f} images/s (together)')
    print('ratio processes_over_threads '
          f'{best["processes"] / best["threads"]:.3f}')
    return best


if __name__ == '__main__':
    main()
