"""Do the fast and the standard path give the same accuracy? (12 epochs, XE)

Trains both recipes with several seeds, tests every final checkpoint and
prints a row per run and the mean per path (docs/get_started.md).

    python tools/benchmarks/fast_path_accuracy.py [--seeds 0 1]
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    standard='configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    fast='configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast.py')
# Paths that train (not test) with tools/train.py --amp: bf16 autocast on a
# CPU, float16 with loss scaling on a GPU.
CONFIGS['fast-amp'] = CONFIGS['fast']
AMP_PATHS = ('fast-amp', )
SETS = ('balanced', 'ib100', 'ib50', 'ib10', 'ib5')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root',
                        default=osp.join(ROOT, '..', 'shared', 'data',
                                         'cifar100'))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--paths', nargs='+', default=['standard', 'fast'],
                        choices=list(CONFIGS))
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs',
                                         'fast_path_accuracy'))
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='overrides for every run (e.g. a shorter '
                        'schedule for a dry run: train_cfg.max_epochs=1)')
    return parser.parse_args(argv)


def run(args_list):
    subprocess.run([sys.executable, *args_list], cwd=ROOT, check=True)


def one_run(path, seed, args):
    work = osp.join(args.work_dir, f'{path}_seed{seed}')
    metrics = osp.join(work, 'metrics.json')
    trained = osp.join(work, 'train_seconds.json')
    options = ['--cfg-options', *args.cfg_options] if args.cfg_options \
        else []
    if not osp.isfile(trained):
        start = time.time()
        amp = ['--amp'] if path in AMP_PATHS else []
        run([
            'tools/train.py', CONFIGS[path], '--work-dir', work,
            '--data-root', args.data_root, *amp, '--cfg-options',
            f'randomness.seed={seed}', *args.cfg_options
        ])
        with open(trained, 'w') as f:
            json.dump(dict(train_seconds=time.time() - start), f)
    if not osp.isfile(metrics):
        with open(osp.join(work, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        run([
            'tools/test.py', CONFIGS[path], checkpoint, '--work-dir',
            osp.join(work, 'test'), '--data-root', args.data_root,
            '--metrics-out', metrics, *options
        ])
    with open(metrics) as f:
        return json.load(f)


def top1(metrics, test_set):
    """Top-1 of a test set from tools/test.py's --metrics-out JSON."""
    for key, value in metrics.items():
        if key.split('/')[0] == test_set and key.endswith('top1'):
            return float(value)
    raise KeyError(f'no {test_set} top-1 in {sorted(metrics)}')


def main(argv=None):
    args = parse_args(argv)
    rows = {}
    for seed in args.seeds:
        for path in args.paths:
            rows[(path, seed)] = one_run(path, seed, args)
    header = f'{"path":10s} {"seed":>4s} ' + ' '.join(f'{s:>9s}'
                                                       for s in SETS)
    print('top-1 (%) of XE, 12 epochs, CIFAR100-LT IB 100')
    print(header)
    for path in args.paths:
        values = []
        for seed in args.seeds:
            row = [top1(rows[(path, seed)], s) for s in SETS]
            values.append(row)
            print(f'{path:10s} {seed:4d} ' + ' '.join(f'{v:9.2f}'
                                                      for v in row))
        mean = [sum(col) / len(col) for col in zip(*values)]
        print(f'{path:10s} {"mean":>4s} ' + ' '.join(f'{v:9.2f}'
                                                     for v in mean))


if __name__ == '__main__':
    main()
