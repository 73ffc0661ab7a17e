"""Training-step throughput: our Runner pipeline against a plain PyTorch loop.

Both train the same model (the config's) on the same synthetic 32x32 batches,
with the same batch size and threads, in one process, alternating rounds so
that machine noise hits both alike. Prints images/s of each and

    ratio framework_overhead <plain step time / ... >

defined as (time per step through MMEngine: data preprocessor, model
``train_step``, optimizer wrapper) / (time per step of the plain loop:
normalise, forward, cross-entropy, backward, SGD step). Goal <= 1.05.

    python tools/benchmarks/train_step.py [CONFIG] [--batch 128] [--steps 20]
"""
import argparse
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from xerm_mm.registry import MODELS
from xerm_mm.utils import register_all_modules

DEFAULT_CONFIG = 'configs/xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args()


def make_batches(n, batch, num_classes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, 256, (batch, 3, 32, 32), generator=gen,
                           dtype=torch.uint8),
             torch.randint(0, num_classes, (batch, ), generator=gen))
            for _ in range(n)]


def framework_step_fn(cfg, batches):
    """One step the way Runner's train loop does it."""
    from mmpretrain.structures import DataSample
    model = MODELS.build(cfg.model)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = []
    for images, labels in batches:
        samples = [DataSample().set_gt_label(int(y)) for y in labels]
        data.append(dict(inputs=list(images), data_samples=samples))
    state = {'i': 0}

    def step():
        batch = data[state['i'] % len(data)]
        state['i'] += 1
        model.train_step(batch, optim_wrapper)

    return model, step


def plain_step_fn(model, cfg, batches):
    """The same network, trained by a hand-written loop."""
    model.train()
    opt_cfg = cfg.optim_wrapper.optimizer
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=opt_cfg.lr,
        momentum=opt_cfg.momentum,
        weight_decay=opt_cfg.weight_decay)
    pre = cfg.model.data_preprocessor
    mean = torch.tensor(pre.mean).view(1, 3, 1, 1)
    std = torch.tensor(pre.std).view(1, 3, 1, 1)
    state = {'i': 0}

    def step():
        images, labels = batches[state['i'] % len(batches)]
        state['i'] += 1
        x = (images.float() - mean) / std
        feats = model.neck(model.backbone(x))
        logits = model.head(feats)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def time_steps(step, n):
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    num_classes = cfg.model.head.num_classes
    batches = make_batches(4, args.batch, num_classes)
    fw_model, fw_step = framework_step_fn(cfg, batches)
    plain_model = MODELS.build(cfg.model)
    plain_model.load_state_dict(fw_model.state_dict())
    plain_step = plain_step_fn(plain_model, cfg, batches)
    fw_times, plain_times = [], []
    for _ in range(args.rounds):
        plain_times.append(time_steps(plain_step, args.steps))
        fw_times.append(time_steps(fw_step, args.steps))
    fw, plain = min(fw_times), min(plain_times)
    print(f'threads {torch.get_num_threads()} batch {args.batch}')
    print(f'plain_loop  {args.batch / plain:8.1f} images/s')
    print(f'framework   {args.batch / fw:8.1f} images/s')
    print(f'ratio framework_overhead {fw / plain:.3f}')


if __name__ == '__main__':
    main()
