"""One epoch of CIFAR100-LT IB 100: tools/train.py against a plain loop.

Prints seconds, images/s and ``ratio epoch_overhead`` (fast-path recipe over
the plain loop, goal <= 1.10) (docs/get_started.md, "One epoch, end to end").

    python tools/benchmarks/train_epoch.py [--rounds 2] [--max-iters N]
"""
import argparse
import importlib.util
import itertools
import os
import os.path as osp
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import EpochBasedTrainLoop

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAST_CONFIG = 'configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast.py'
STANDARD_CONFIG = 'configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root',
                        default=osp.join(ROOT, '..', 'shared', 'data',
                                         'cifar100'))
    parser.add_argument('--fast-config', default=FAST_CONFIG)
    parser.add_argument('--standard-config', default=STANDARD_CONFIG)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--max-iters', type=int, default=None,
                        help='stop each epoch after this many iterations '
                        '(a quick check; the ratios then cover a part of '
                        'an epoch)')
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args(argv)


def load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'xerm_train_tool', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FirstBatches:
    """The first ``n`` batches of a DataLoader (its other attributes too)."""

    def __init__(self, loader, n):
        self.loader, self.n = loader, n

    def __len__(self):
        return min(self.n, len(self.loader))

    def __iter__(self):
        return itertools.islice(iter(self.loader), self.n)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class EpochTimer:
    """Times ``EpochBasedTrainLoop.run_epoch`` (and can cut an epoch short)."""

    def __init__(self, max_iters=None):
        self.max_iters = max_iters
        self.times = []
        self._run_epoch = EpochBasedTrainLoop.run_epoch

    def __enter__(self):
        timer = self

        def run_epoch(loop):
            if timer.max_iters is not None:
                loop.dataloader = FirstBatches(loop.dataloader,
                                               timer.max_iters)
            start = time.perf_counter()
            timer._run_epoch(loop)
            timer.times.append(time.perf_counter() - start)

        EpochBasedTrainLoop.run_epoch = run_epoch
        return self

    def __exit__(self, *exc):
        EpochBasedTrainLoop.run_epoch = self._run_epoch


def train_tool_epoch(tool, config, data_root, folder, max_iters):
    """Seconds of one epoch of ``tools/train.py config``."""
    work_dir = tempfile.mkdtemp(dir=folder)
    args = [
        config, '--work-dir', work_dir, '--data-root', data_root,
        '--cfg-options', 'train_cfg.max_epochs=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None'
    ]
    with EpochTimer(max_iters) as timer:
        tool.main(args)
    return timer.times[-1]


class PlainLoop:
    """The recipe's network, data and augmentation in a hand-written loop."""

    def __init__(self, config, data_root, max_iters):
        from xerm_mm.datasets import CIFAR100LT
        from xerm_mm.engine.runner import memory_format_of
        from xerm_mm.registry import MODELS
        cfg = Config.fromfile(config)
        dataset = CIFAR100LT(data_root=data_root,
                             split='train',
                             imbalance_ratio=100,
                             pipeline=[dict(type='PackInputs')],
                             batch_fetch=True)
        dataset.full_init()
        self.images = torch.from_numpy(dataset.batch_images)
        self.labels = torch.from_numpy(dataset.get_gt_labels())
        self.model = MODELS.build(cfg.model)
        memory_format = memory_format_of(cfg)
        if memory_format is not None:
            self.model.to(memory_format=memory_format)
        opt = cfg.optim_wrapper.optimizer
        self.optimizer = torch.optim.SGD(self.model.parameters(),
                                         lr=opt.lr,
                                         momentum=opt.momentum,
                                         weight_decay=opt.weight_decay,
                                         nesterov=opt.get('nesterov', False))
        pre = cfg.data_preprocessor
        self.mean = torch.tensor(pre.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(pre.std).view(1, 3, 1, 1)
        self.batch = cfg.train_dataloader.batch_size
        self.max_iters = max_iters

    def epoch(self):
        from xerm_mm.models.utils import pad_crop_flip
        start = time.perf_counter()
        self.model.train()
        order = torch.randperm(len(self.labels))
        for i, first in enumerate(range(0, len(order), self.batch)):
            if self.max_iters is not None and i >= self.max_iters:
                break
            index = order[first:first + self.batch]
            images = torch.from_numpy(self.images.numpy()[index.numpy()])
            n = len(index)
            images = pad_crop_flip(images, torch.randint(0, 9, (n, )),
                                   torch.randint(0, 9, (n, )),
                                   torch.rand(n) < 0.5, 4, 0)
            x = (images.float() - self.mean) / self.std
            logits = self.model.head(self.model.neck(self.model.backbone(x)))
            loss = F.cross_entropy(logits, self.labels[index])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        loss.item()
        return time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.chdir(ROOT)
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    tool = load_train_tool()
    plain = PlainLoop(args.fast_config, args.data_root, args.max_iters)
    n_images = len(plain.labels)
    if args.max_iters is not None:
        n_images = min(n_images, args.max_iters * plain.batch)
    times = dict(plain=[], fast=[], standard=[])
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            times['plain'].append(plain.epoch())
            times['fast'].append(
                train_tool_epoch(tool, args.fast_config, args.data_root,
                                 folder, args.max_iters))
            times['standard'].append(
                train_tool_epoch(tool, args.standard_config, args.data_root,
                                 folder, args.max_iters))
    best = {name: min(values) for name, values in times.items()}
    print(f'threads {torch.get_num_threads()} batch {plain.batch} '
          f'images/epoch {n_images} rounds {args.rounds}')
    for name, label in (('plain', 'plain PyTorch loop'),
                        ('fast', 'tools/train.py, fast path'),
                        ('standard', 'tools/train.py, standard')):
        print(f'{label:28s} {best[name]:7.2f} s/epoch '
              f'{n_images / best[name]:8.1f} images/s')
    print(f'ratio epoch_overhead {best["fast"] / best["plain"]:.3f}')
    print('ratio standard_epoch_overhead '
          f'{best["standard"] / best["plain"]:.3f}')
    return best


if __name__ == '__main__':
    main()
