"""Training-step throughput: our pipeline against baselines, one process.

Prints images/s and ``ratio framework_overhead`` (goal <= 1.05) and
``ratio xerm_over_xe`` (goal <= 1.25); ``--amp`` and ``--compile`` add
contenders (docs/get_started.md, "Benchmark").

    python tools/benchmarks/train_step.py [--batch 128] [--amp] [--compile]
"""
import argparse
import os
import tempfile
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from xerm_mm.engine.runner import memory_format_of
from xerm_mm.registry import MODELS
from xerm_mm.utils import register_all_modules

DEFAULT_CONFIG = 'configs/xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'
XERM_CONFIG = 'configs/xerm/xerm-pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'


CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)


def add_clock_argument(parser):
    """``--clock {wall,cpu}``: which of :data:`CLOCKS` times the steps."""
    parser.add_argument('--clock', choices=tuple(CLOCKS), default='wall',
                        help='cpu: time.process_time, the CPU time of this '
                        'process, which other processes on a busy machine '
                        'do not inflate; use it with --threads 1 (idle '
                        'worker threads spin and count)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--xerm-config', default=XERM_CONFIG)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--amp', action='store_true',
                        help='also time the XE and xERM steps under bfloat16 '
                        'autocast')
    parser.add_argument('--compile', action='store_true',
                        help='also time the bf16 steps with torch.compile '
                        'on every backbone (implies --amp)')
    parser.add_argument('--channels-last', action='store_true',
                        default=None,
                        help='models and inputs in channels_last format '
                        '(default: as the config\'s memory_format, which '
                        'tools/train.py applies)')
    parser.add_argument('--no-channels-last', dest='channels_last',
                        action='store_false',
                        help='PyTorch\'s default memory format everywhere')
    add_clock_argument(parser)
    return parser.parse_args()


def to_channels_last(model):
    """``model`` (teachers included) and its preprocessed inputs in
    ``torch.channels_last`` format."""
    model.to(memory_format=torch.channels_last)
    preprocess = model.data_preprocessor.forward

    def forward(data, training=False):
        data = preprocess(data, training)
        data['inputs'] = data['inputs'].contiguous(
            memory_format=torch.channels_last)
        return data

    model.data_preprocessor.forward = forward
    return model


def optim_cfg(cfg, amp):
    """The config's optimizer wrapper; with ``amp`` under bf16 autocast."""
    wrapper = cfg.optim_wrapper.copy()
    if amp:
        wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16',
                       device_type='cpu')
    return wrapper


def make_batches(n, batch, num_classes, seed=0, size=32):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, 256, (batch, 3, size, size), generator=gen,
                           dtype=torch.uint8),
             torch.randint(0, num_classes, (batch, ), generator=gen))
            for _ in range(n)]


def model_cfg(cfg):
    """``cfg.model`` with the top-level data preprocessor, as Runner does."""
    model = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return model


def framework_step_fn(cfg, batches, model, amp=False):
    """One step the way Runner's train loop does it."""
    from mmpretrain.structures import DataSample
    model.train()
    optim_wrapper = build_optim_wrapper(model, optim_cfg(cfg, amp))
    data = []
    for images, labels in batches:
        samples = [DataSample().set_gt_label(int(y)) for y in labels]
        data.append(dict(inputs=list(images), data_samples=samples))
    state = {'i': 0}

    def step():
        batch = data[state['i'] % len(data)]
        state['i'] += 1
        model.train_step(batch, optim_wrapper)

    return step


def fill_view_buffers(model):
    """What the balanced view of an untrained PC / TDE head needs: training
    class counts of an IB 100 profile (PCHead), a moving average of random
    features (TDEHead). Other heads are left as they are."""
    from xerm_mm.datasets import img_num_per_cls
    head = model.head
    if hasattr(head, 'set_class_counts'):
        head.set_class_counts(img_num_per_cls(500, head.num_classes, 100))
    if hasattr(head, 'moving_avg') and int(head.num_updates) == 0:
        head.moving_avg.uniform_()
        head.num_updates.fill_(1)
    return model


def xerm_model(cfg, folder):
    """The xERM student, its teacher loaded from a (random) checkpoint."""
    from xerm_mm.utils.config import resolve_config_path
    teacher_cfg = Config.fromfile(resolve_config_path(
        cfg.model.teacher.config))
    teacher = fill_view_buffers(MODELS.build(teacher_cfg.model))
    path = os.path.join(folder, 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    cfg.model.teacher.checkpoint = path
    model = MODELS.build(model_cfg(cfg))
    model.load_teachers()
    return model


def plain_step_fn(model, cfg, batches, channels_last=False):
    """The same network, trained by a hand-written loop."""
    model.train()
    opt_cfg = cfg.optim_wrapper.optimizer
    # The config's SGD variant (fused / foreach), as the framework gets it.
    variant = {k: opt_cfg[k] for k in ('fused', 'foreach') if k in opt_cfg}
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=opt_cfg.lr,
        momentum=opt_cfg.momentum,
        weight_decay=opt_cfg.weight_decay,
        **variant)
    memory_format = (torch.channels_last
                     if channels_last else torch.contiguous_format)
    pre = model_cfg(cfg).data_preprocessor
    mean = torch.tensor(pre.mean).view(1, 3, 1, 1)
    std = torch.tensor(pre.std).view(1, 3, 1, 1)
    state = {'i': 0}

    def step():
        images, labels = batches[state['i'] % len(batches)]
        state['i'] += 1
        x = ((images.float() - mean) / std).contiguous(
            memory_format=memory_format)
        feats = model.neck(model.backbone(x))
        logits = model.head(feats)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def time_steps(step, n, clock=time.perf_counter):
    step()  # warm-up
    start = clock()
    for _ in range(n):
        step()
    return (clock() - start) / n


CONTENDERS = (('plain', 'plain PyTorch loop'), ('xe', 'XE step, MMEngine'),
              ('xerm', 'xERM step, MMEngine'),
              ('xe_bf16', 'XE step, bf16 autocast'),
              ('xerm_bf16', 'xERM step, bf16 autocast'),
              ('xe_bf16_compiled', 'XE step, bf16, compiled'),
              ('xerm_bf16_compiled', 'xERM step, bf16, compiled'))


def compile_backbones(model):
    """``model`` with its backbone and its teachers' in ``torch.compile``."""
    teachers = getattr(model, 'teachers', {})
    for net in (model, *teachers.values()):
        net.backbone = torch.compile(net.backbone)
    return model


def build_steps(args, batches):
    """The contenders' step functions, by name; every model of a kind starts
    from the same weights."""
    cfg = Config.fromfile(args.config)
    xerm_cfg = Config.fromfile(args.xerm_config)
    if args.channels_last is None:
        args.channels_last = memory_format_of(cfg) == torch.channels_last
    kinds = (False, True) if args.amp else (False, )
    kinds += ('compiled', ) if args.compile else ()
    prepare = to_channels_last if args.channels_last else (lambda m: m)
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        for amp in kinds:
            torch.manual_seed(0)
            models[('xe', amp)] = MODELS.build(model_cfg(cfg))
            torch.manual_seed(1)
            models[('xerm', amp)] = xerm_model(xerm_cfg.copy(), folder)
    plain = MODELS.build(model_cfg(cfg))
    plain.load_state_dict(models[('xe', False)].state_dict())
    steps = dict(plain=plain_step_fn(prepare(plain), cfg, batches,
                                     args.channels_last))
    for (kind, amp), model in models.items():
        name = kind + {False: '', True: '_bf16'}.get(amp, '_bf16_compiled')
        if amp == 'compiled':
            model = compile_backbones(model)
        steps[name] = framework_step_fn(cfg if kind == 'xe' else xerm_cfg,
                                        batches, prepare(model), bool(amp))
    return steps


def main():
    args = parse_args()
    args.amp = args.amp or args.compile
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    num_classes = Config.fromfile(args.config).model.head.num_classes
    batches = make_batches(4, args.batch, num_classes)
    steps = build_steps(args, batches)
    clock = CLOCKS[args.clock]
    times = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name].append(time_steps(step, args.steps, clock))
    best = {name: min(values) for name, values in times.items()}
    print(f'threads {torch.get_num_threads()} batch {args.batch} clock '
          f'{args.clock}{" channels_last" if args.channels_last else ""}')
    for name, label in CONTENDERS:
        if name in best:
            print(f'{label:24s} {args.batch / best[name]:8.1f} images/s')
    print(f'ratio framework_overhead {best["xe"] / best["plain"]:.3f}')
    print(f'ratio xerm_over_xe {best["xerm"] / best["xe"]:.3f}')
    if args.amp:
        for kind in ('xe', 'xerm'):
            print(f'ratio bf16_speedup_{kind} '
                  f'{best[kind] / best[kind + "_bf16"]:.3f}')
    if args.compile:
        for kind in ('xe', 'xerm'):
            speedup = best[kind + '_bf16'] / best[kind + '_bf16_compiled']
            print(f'ratio compile_speedup_{kind} {speedup:.3f}')


if __name__ == '__main__':
    main()
