"""The fast path: whole-batch fetching, channels-last, no per-step sync."""
import json
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import LoggerHook
from mmengine.logging import MessageHub, MMLogger

from conftest import small_cifar10_config
from inprocess_tool import ROOT, run_main
from xerm_mm.datasets import CIFAR10LT, DigitsLT, collate_fetched_batch
from xerm_mm.engine.hooks import DeferredRuntimeInfoHook, NonFiniteGuardHook
from xerm_mm.engine.hooks.non_finite_guard_hook import NonFiniteLossError
from xerm_mm.engine.runner import memory_format_of

PACK = [dict(type='PackInputs')]


def _cifar(root, **kwargs):
    return CIFAR10LT(data_root=root,
                     imbalance_ratio=10,
                     images_per_class=dict(train=20, test=8),
                     pipeline=PACK,
                     **kwargs)


def _same_batches(per_sample, fetched):
    assert torch.equal(torch.stack(per_sample['inputs']), fetched['inputs'])
    assert fetched['inputs'].dtype == torch.uint8
    assert fetched['inputs'].is_contiguous()
    for a, b in zip(per_sample['data_samples'], fetched['data_samples']):
        assert torch.equal(a.gt_label, b.gt_label)
        assert a.metainfo == b.metainfo


@pytest.mark.parametrize('name', ['cifar', 'digits'])
def test_a_fetched_batch_is_what_the_per_sample_pipeline_gives(
        name, fake_cifar10_root):
    if name == 'cifar':
        plain, fast = (_cifar(fake_cifar10_root, batch_fetch=flag)
                       for flag in (False, True))
    else:
        plain, fast = (DigitsLT(pipeline=PACK, batch_fetch=flag)
                       for flag in (False, True))
    indices = [5, 0, len(plain) - 1, 5, 17]
    _same_batches(pseudo_collate([plain[i] for i in indices]),
                  collate_fetched_batch(fast.__getitems__(indices)))
    # Through PyTorch's DataLoader, which asks for whole batches.
    loader = torch.utils.data.DataLoader(
        fast, batch_size=7, collate_fn=collate_fetched_batch)
    batches = list(loader)
    assert sum(len(b['data_samples']) for b in batches) == len(fast)
    _same_batches(pseudo_collate([plain[i] for i in range(7)]), batches[0])
    # One sample still goes through the pipeline (browse_dataset etc.).
    assert torch.equal(fast[3]['inputs'], plain[3]['inputs'])


def test_without_batch_fetch_the_collate_is_mmengines(fake_cifar10_root):
    dataset = _cifar(fake_cifar10_root)
    samples = dataset.__getitems__([1, 2])
    assert isinstance(samples, list)
    assert collate_fetched_batch(samples, _scope_='xerm_mm').keys() == \
        pseudo_collate(samples).keys()


def test_batch_fetch_errors_say_what_to_configure(fake_cifar10_root):
    fast = _cifar(fake_cifar10_root, batch_fetch=True)
    with pytest.raises(TypeError, match='xerm_mm.collate_fetched_batch'):
        pseudo_collate(fast.__getitems__([0, 1]))
    with pytest.raises(ValueError, match=r"\[dict\(type='PackInputs'\)\].*"
                       r"\['RandomFlip', 'PackInputs'\].*RandomPadCropFlip"):
        CIFAR10LT(data_root=fake_cifar10_root,
                  imbalance_ratio=10,
                  images_per_class=dict(train=20, test=8),
                  pipeline=[dict(type='RandomFlip', prob=0.5)] + PACK,
                  batch_fetch=True)
    with pytest.raises(TypeError, match='batch_fetch must be True or False'):
        DigitsLT(pipeline=PACK, batch_fetch='yes')


def test_memory_format_key():
    assert memory_format_of(dict()) is None
    assert memory_format_of(dict(memory_format='channels_last')) is \
        torch.channels_last
    with pytest.raises(ValueError, match='memory_format.*channels_last.*'
                       "'nhwc'"):
        memory_format_of(dict(memory_format='nhwc'))


def test_fast_config_trains_channels_last_through_train_py(
        fake_cifar10_root, tmp_path):
    config = small_cifar10_config(
        'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast.py',
        fake_cifar10_root, str(tmp_path), extra="""
default_hooks = dict(logger=dict(interval=4))
""")
    work = tmp_path / 'work'
    runner, _ = run_main('train', config, '--work-dir', work)
    model = runner.model
    assert type(model.data_preprocessor).__name__ == \
        'PixelAugClsDataPreprocessor'
    assert runner.train_dataloader.dataset.batch_fetch
    conv = next(m for m in model.modules()
                if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # Every step's loss reached the log: the per-step json lines of the
    # logger (interval 4) and the hub's buffer hold all steps.
    steps = len(runner.train_dataloader)
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == steps and all(map(torch.isfinite,
                                            torch.tensor(losses)))
    logs = [json.loads(line) for line in open(
        osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    assert any('loss' in entry for entry in logs)


# --- DeferredRuntimeInfoHook and the guard: syncs only on log steps ------
def _runner(name, interval=3, steps=7):
    hub = MessageHub.get_instance(name)
    return SimpleNamespace(
        message_hub=hub,
        hooks=[LoggerHook(interval=interval)],
        train_loop=SimpleNamespace(dataloader=range(steps)),
        epoch=0,
        iter=0,
        optim_wrapper=SimpleNamespace(get_lr=lambda: dict(lr=[0.1])),
        logger=MMLogger.get_instance(name))


def test_outputs_reach_the_hub_in_order_only_on_log_steps():
    runner = _runner('test_deferred_runtime_info')
    hook = DeferredRuntimeInfoHook()
    seen = []
    for step in range(7):
        hook.after_train_iter(
            runner, step, outputs=dict(loss=torch.tensor(float(step)),
                                       w_imba_mean=torch.tensor(0.5),
                                       note=3))
        buffer = runner.message_hub.log_scalars.get('train/loss')
        seen.append(0 if buffer is None else len(buffer.data[0]))
    # Log steps of a 7-step epoch with interval 3: the 3rd, 6th and last.
    assert seen == [0, 0, 3, 3, 3, 6, 7]
    assert list(runner.message_hub.get_scalar('train/loss').data[0]) == \
        [float(i) for i in range(7)]
    assert runner.message_hub.get_scalar('train/note').current() == 3
    # A checkpoint saved between log steps gets the kept values too.
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(9.0)))
    checkpoint = dict(message_hub=None)
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].data[0][
        -1] == 9.0
    with pytest.raises(ValueError, match='interval'):
        DeferredRuntimeInfoHook(interval=0)


def test_the_guard_checks_on_log_steps_and_names_the_first_bad_step():
    runner = _runner('test_deferred_guard')
    guard = NonFiniteGuardHook()
    guard.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.0)))
    guard.after_train_iter(runner, 1,
                           outputs=dict(loss=torch.tensor(float('nan'))))
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 2/7 of the epoch.*loss=nan'):
        guard.after_train_iter(runner, 2,
                               outputs=dict(loss=torch.tensor(1.0)))
    # Not yet checked between log steps; the epoch's end checks the rest.
    guard = NonFiniteGuardHook()
    guard.after_train_iter(runner, 3,
                           outputs=dict(loss=torch.tensor(float('inf'))))
    runner.model = torch.nn.Linear(2, 2)
    with pytest.raises(NonFiniteLossError, match='iteration 4/7'):
        guard.after_train_epoch(runner)
    with pytest.raises(ValueError, match='check_interval'):
        NonFiniteGuardHook(check_interval=0)


def _flat(value, prefix=''):
    if isinstance(value, dict):
        return {k: v for key, item in value.items()
                for k, v in _flat(item, f'{prefix}.{key}').items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value)
                for k, v in _flat(item, f'{prefix}[{i}]').items()}
    return {prefix: value}


# What a fast-path recipe may change: where the augmentation runs, how the
# loader fetches, and the names derived from the recipe's file name.
FAST_PATH_KEYS = (
    '.data_preprocessor.type', '.data_preprocessor.pixel_augments',
    '.data_preprocessor.non_blocking', '.model.data_preprocessor.type',
    '.model.data_preprocessor.pixel_aug',
    '.model.data_preprocessor.non_blocking',
    '.fast_loader', '.recipe', '.teacher_config', '.teacher_checkpoint',
    '.model.teacher.config', '.model.teacher.checkpoint', '.stages',
    '.evaluations')
LOADER_KEYS = ('.num_workers', '.persistent_workers', '.collate_fn',
               '.dataset.batch_fetch', '.dataset.pipeline')


def _fast_path_key(key):
    if key.startswith(FAST_PATH_KEYS):
        return True
    loader, _, rest = key.partition('_dataloader')
    return bool(rest) and rest.startswith(LOADER_KEYS)


# Fast recipes without a twin: the 200-epoch pipeline's budget-matched XE
# (twice the epochs of its fast XE) is only trained on the fast path.
FAST_ONLY = {'xe/xe_bbn-resnet32_1xb128-400e_cifar100lt-ib100-fast.py'}


def test_fast_recipes_keep_every_hyper_parameter_of_their_twins():
    resolved = json.load(open(osp.join(
        ROOT, 'tests', 'data', 'resolved_configs.json')))
    fast = [name for name in resolved if name.endswith('-fast.py')
            and '_base_' not in name and name not in FAST_ONLY]
    assert len(fast) == 12
    assert FAST_ONLY <= set(resolved)
    for name in fast:
        a = _flat(resolved[name.replace('-fast.py', '.py')])
        b = _flat(resolved[name])
        changed = sorted(k for k in set(a) | set(b)
                         if a.get(k, '<unset>') != b.get(k, '<unset>'))
        assert changed and all(map(_fast_path_key, changed)), (
            name, [k for k in changed if not _fast_path_key(k)])
        if 'pipelines' not in name:
            assert b['.train_dataloader.dataset.batch_fetch'] is True
            assert b['.data_preprocessor.pixel_augments[0].type'] == \
                'xerm_mm.RandomPadCropFlip'


def test_labels_go_to_the_device_in_one_copy():
    from mmpretrain.structures import DataSample

    from xerm_mm.models.utils.pixel_aug_data_preprocessor import \
        labels_to_device
    samples = [DataSample().set_gt_label(i) for i in (3, 1, 4)]
    moved = labels_to_device(samples, torch.device('meta'))
    assert moved is samples
    assert [s.gt_label.device.type for s in samples] == ['meta'] * 3
    assert [s.gt_label.shape for s in samples] == [torch.Size([1])] * 3
    # Several labels per sample: left to ClsDataPreprocessor.
    multi = [DataSample().set_gt_label([1, 2])]
    assert labels_to_device(multi, torch.device('meta'))[0] \
        .gt_label.device.type == 'cpu'
