"""End to end through the command-line tools, on a tiny fake CIFAR-10.

Training runs once in a subprocess (the ``xe_run`` fixture), as a user runs
it, and the two-process test through torchrun; the other tests call the
tools' ``main()`` in this process (:func:`inprocess_tool.run_main`).
"""
import json
import os
import os.path as osp
import pickle
import shutil
import socket
import subprocess
import sys
from types import SimpleNamespace

import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from conftest import ROOT, small_cifar10_config
from inprocess_tool import load_tool, run_main, run_main_error
from xerm_mm.datasets import DigitsLT
from xerm_mm.engine import AutocastOptimWrapper, MultiTestLoop
from xerm_mm.utils import dataloader_defaults
from xerm_mm.utils.dataloader_defaults import set_dataloader_defaults

BAR = '━'  # rich's progress bar


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _table_rows(stdout):
    return [
        line.split('|')[1].strip() for line in stdout.splitlines()
        if line.startswith('| ') and not line.startswith('| test set')
    ]


def test_train_validates_and_keeps_checkpoints(xe_run):
    _, work, log = xe_run
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'Epoch(val) [1]' in log and 'lt/top1' in log
    assert 'best_lt_top1_epoch_1.pth' in os.listdir(work)


def test_resume_continues_from_the_last_epoch(xe_run, tmp_path):
    config, work, _ = xe_run
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(work, resumed)
    _, log = run_main('train', config, '--work-dir', resumed, '--resume',
                      '--cfg-options', 'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1' in log.lower().replace(',', '')
    assert 'Epoch(train) [2]' in log
    assert 'Epoch(train) [1]' not in log
    assert osp.isfile(osp.join(resumed, 'epoch_2.pth'))


def test_load_from_own_checkpoint(xe_run, tmp_path):
    config, work, _ = xe_run
    _, log = run_main('train', config, '--work-dir', tmp_path, '--cfg-options',
                      f'load_from={osp.join(work, "epoch_1.pth")}')
    assert 'Load checkpoint from' in log


def test_multi_test_set_table_and_dump(xe_run, tmp_path):
    config, work, _ = xe_run
    out = str(tmp_path / 'metrics.json')
    _, stdout = run_main('test', config, osp.join(work, 'epoch_1.pth'),
                         '--work-dir', tmp_path, '--metrics-out', out)
    table = [line for line in stdout.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| test set | top1 |')
    assert [row.split('|')[1].strip()
            for row in table[1:]] == ['balanced', 'ib10']
    metrics = json.load(open(out))
    # Every test image counted once, per-class counts kept for plots.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
    assert sum(metrics['balanced/lt/per_class_pred_count']) == 80
    # IB 10 test profile on 8 per class: 8, 6, 4, ..., 0.
    ib10 = metrics['ib10/lt/per_class_gt_count']
    assert ib10[0] == 8 and ib10[-1] == 0
    assert sum(metrics['ib10/lt/per_class_tp']) <= sum(ib10)
    assert 0 <= metrics['balanced/lt/top1'] <= 100
    # Not a terminal: no progress bar by default, the log alone.
    assert BAR not in stdout


def test_out_and_show_dir_write_one_file_and_folder_per_test_set(
        xe_run, tmp_path):
    config, work, _ = xe_run
    _, stdout = run_main('test', config, osp.join(work, 'epoch_1.pth'),
                         '--work-dir', tmp_path, '--out',
                         tmp_path / 'preds.pkl', '--show-dir',
                         tmp_path / 'vis', '--interval', '40',
                         '--cfg-options', 'test_cfg.progress_bar=True')
    assert not osp.exists(tmp_path / 'preds.pkl')
    sizes = {}
    for name in ('balanced', 'ib10'):
        with open(tmp_path / f'preds_{name}.pkl', 'rb') as f:
            preds = pickle.load(f)
        # mmpretrain's DumpResults format: one dict per image.
        assert {'pred_score', 'pred_label', 'gt_label'} <= set(preds[0])
        sizes[name] = len(preds)
    assert sizes == dict(balanced=80, ib10=28)
    # Every 40th image of each set drawn, each set in its folder.
    assert sorted(os.listdir(tmp_path / 'vis' / 'balanced')) == [
        '0_0.png', '40_0.png'
    ]
    assert os.listdir(tmp_path / 'vis' / 'ib10') == ['0_0.png']
    # test_cfg.progress_bar=True: a bar per set, written once off a terminal.
    bars = [line for line in stdout.splitlines() if BAR in line]
    assert len(bars) == 2
    assert bars[0].startswith('balanced') and '3/3' in bars[0]
    assert bars[1].startswith('ib10') and '1/1' in bars[1]


@pytest.fixture(scope='module')
def random_ckpt(xe_run, tmp_path_factory):
    """A checkpoint of the untrained XE model (one epoch saturates the
    scores of the tiny run; these are spread)."""
    from xerm_mm.registry import MODELS
    from xerm_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(xe_run[0]).model)
    path = str(tmp_path_factory.mktemp('random') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def _pred_scores(path):
    with open(path, 'rb') as f:
        return torch.stack([pred['pred_score'] for pred in pickle.load(f)])


def test_tta_averages_the_scores_of_the_image_and_its_flip(
        xe_run, random_ckpt, fake_cifar10_root, tmp_path):
    config, ckpt = xe_run[0], random_ckpt
    flipped = small_cifar10_config(
        'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path / 'flip'),
        extra="test_dataloader = dict(val_dataloader, dataset=dict("
        "val_dataloader['dataset'], pipeline=[dict(type='RandomFlip', "
        "prob=1.), dict(type='PackInputs')]))\n")
    scores = {}
    for name, cfg, flags in (('plain', config, []), ('flip', flipped, []),
                             ('tta', config, ['--tta'])):
        out = tmp_path / f'{name}.pkl'
        # One test set: --out is the file given, as in mmpretrain.
        run_main('test', cfg, ckpt, '--work-dir', tmp_path, '--test-sets',
                 'balanced', '--out', out, *flags)
        scores[name] = _pred_scores(out)
    mean = (scores['plain'] + scores['flip']) / 2
    assert torch.allclose(scores['tta'], mean, atol=1e-6)
    assert not torch.allclose(scores['plain'], scores['flip'])


def test_amp_tests_under_bfloat16_autocast_on_the_cpu(xe_run, random_ckpt,
                                                     tmp_path):
    config, ckpt = xe_run[0], random_ckpt
    run_main('test', config, ckpt, '--work-dir', tmp_path, '--test-sets',
             'balanced', '--out', tmp_path / 'fp32.pkl')
    _, stdout = run_main('test', config, ckpt, '--work-dir', tmp_path,
                         '--test-sets', 'balanced', '--amp', '--out',
                         tmp_path / 'metrics.json', '--out-item', 'metrics')
    assert 'bfloat16 autocast' in stdout
    # --out-item metrics: the metrics, dumped by mmengine.
    metrics = mmengine.load(tmp_path / 'metrics.json')
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
    run_main('test', config, ckpt, '--work-dir', tmp_path, '--test-sets',
             'balanced', '--amp', '--out', tmp_path / 'bf16.pkl')
    fp32, bf16 = (_pred_scores(tmp_path / f'{name}.pkl')
                  for name in ('fp32', 'bf16'))
    # The head ran under autocast; its scores are close to float32 ones.
    assert fp32.dtype is torch.float32 and bf16.dtype is torch.bfloat16
    assert torch.allclose(fp32, bf16.float(), atol=0.01)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_amp_trains_with_bfloat16_autocast_on_the_cpu(xe_run, tmp_path):
    config, _, _ = xe_run
    runner, log = run_main('train', config, '--work-dir', tmp_path, '--amp',
                           '--no-validate')
    assert type(runner.optim_wrapper).__name__ == 'AutocastOptimWrapper'
    assert runner.optim_wrapper.cast_dtype is torch.bfloat16
    assert 'Epoch(train) [1][5/5]' in log
    assert osp.isfile(tmp_path / 'epoch_1.pth')


def test_autocast_optim_wrapper_runs_the_forward_in_bfloat16():
    model = torch.nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device_type='cpu')
    with wrapper.optim_context(model):
        out = model(torch.ones(3, 4))
    assert out.dtype is torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().sum())
    assert model.weight.dtype is torch.float32
    assert not torch.equal(model.weight, before)
    with pytest.raises(ValueError, match='optim_wrapper.dtype'):
        AutocastOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def test_test_sets_flag_rejects_unknown_names(xe_run):
    config, work, _ = xe_run
    error, _ = run_main_error('test', config, osp.join(work, 'epoch_1.pth'),
                              '--test-sets', 'ib1000')
    assert isinstance(error, KeyError)
    assert 'ib1000' in str(error) and 'balanced' in str(error)


def test_bad_data_root_fails_fast(xe_run, tmp_path):
    config, _, _ = xe_run
    with pytest.raises(FileNotFoundError) as error:
        run_main('train', config, '--data-root', tmp_path / 'nowhere')
    assert 'nowhere' in str(error.value)
    assert 'not a folder' in str(error.value)


def test_dataloader_defaults_of_mmpretrains_tools(monkeypatch):
    # As on a GPU machine (without one pin_memory is left off).
    monkeypatch.setattr(dataloader_defaults, 'can_pin_memory', lambda: True)
    cifar = osp.join(ROOT, 'configs/xe/'
                     'xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py')
    digits = osp.join(ROOT,
                      'configs/xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py')
    train = load_tool('train')
    args = train.parse_args([digits])
    cfg = train.merge_args(Config.fromfile(digits), args)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].pin_memory is True
        assert cfg[key].collate_fn == dict(type='default_collate')
        # No workers: PyTorch refuses persistent_workers (the digits
        # configs turn it off; the tools do not turn it on).
        assert cfg[key].get('persistent_workers', False) is False
    args = train.parse_args([cifar, '--cfg-options',
                             'val_dataloader.pin_memory=False'])
    cfg = train.merge_args(Config.fromfile(cifar), args)
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.val_dataloader.pin_memory is False  # the user's value kept
    args = train.parse_args(
        [cifar, '--no-pin-memory', '--no-persistent-workers'])
    cfg = train.merge_args(Config.fromfile(cifar), args)
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.train_dataloader.persistent_workers is False
    test = load_tool('test')
    args = test.parse_args([digits, __file__, '--no-pin-memory'])
    cfg = test.merge_args(Config.fromfile(digits), args)
    assert cfg.test_dataloader.pin_memory is False
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    assert 'collate_fn' not in cfg.train_dataloader  # test.py: test only


def test_scoped_collate_fn_of_a_package_base_is_callable(tmp_path):
    config = tmp_path / 'scoped.py'
    config.write_text(
        "_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_byol.py'\n"
        'train_dataloader = dict(batch_size=4, num_workers=0, '
        'persistent_workers=False)\n')
    cfg = Config.fromfile(str(config))
    # The cause: MMEngine tags the typed dicts of a scoped base.
    assert cfg.train_dataloader.collate_fn._scope_ == 'mmpretrain'
    set_dataloader_defaults(cfg, ('train_dataloader', ))
    assert '_scope_' not in cfg.train_dataloader.collate_fn
    cfg.train_dataloader.dataset = DigitsLT(
        split='train', pipeline=[dict(type='PackInputs')])
    loader = Runner.build_dataloader(cfg.train_dataloader)
    batch = next(iter(loader))
    assert batch['inputs'].shape[0] == 4  # default_collate stacks


def test_multi_test_loop_averages_test_losses():
    def buffer(*values):
        buf = HistoryBuffer()
        for value in values:
            buf.update(value)
        return buf

    loop = SimpleNamespace(test_loss=dict(
        loss_a=buffer(1., 3.), loss_b=buffer(1.), acc=buffer(0.5)))
    losses = MultiTestLoop._mean_losses(loop)
    assert losses == dict(loss_a=2., loss_b=1., acc=0.5, test_loss=3.)
    assert MultiTestLoop._mean_losses(SimpleNamespace(test_loss={})) == {}


def _two_process_train_and_test(config, work, extra=()):
    """Train 1 epoch on 2 processes, test its checkpoint on 2 processes;
    return (train log, metrics of the test)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(_free_port()),
               PYTHONPATH=os.pathsep.join(
                   [osp.join(ROOT, 'tests'),
                    os.environ.get('PYTHONPATH', '')]))
    train = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work,
         *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-5000:]
    out = osp.join(work, 'metrics.json')
    env['PORT'] = str(_free_port())
    test = subprocess.run([
        'bash', 'tools/dist_test.sh', config,
        osp.join(work, 'epoch_1.pth'), '2', '--work-dir', work,
        '--metrics-out', out, '--test-sets', 'balanced'
    ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert test.returncode == 0, test.stderr[-5000:]
    return log, json.load(open(out))


# Each process saves the buffers it validates with (tests/buffers_dump_hook).
DUMP_BUFFERS = """
custom_imports = dict(imports=['xerm_mm', 'buffers_dump_hook'],
                      allow_failed_imports=False)
default_hooks = dict(dump_buffers=dict(type='BuffersDumpHook'))
"""


@pytest.mark.slow
def test_two_process_cpu_training_and_testing(fake_cifar10_root, tmp_path):
    config = small_cifar10_config(
        'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
        fake_cifar10_root, str(tmp_path), DUMP_BUFFERS)
    work = str(tmp_path / 'work')
    log, metrics = _two_process_train_and_test(config, work)
    assert 'Distributed training: True' in log
    # 79 training images, 40 per process at batch 16 (5 steps on one).
    assert 'Epoch(train) [1][3/3]' in log
    # 80 test images over 2 processes: each counted exactly once.
    assert metrics['balanced/lt/per_class_gt_count'] == [8] * 10
    # BatchNorm buffers synchronised before validation (SyncBuffersHook):
    # both processes validate with the buffers of the saved checkpoint,
    # so the logged numbers are the checkpoint's (the val set is the
    # balanced test set).
    saved = torch.load(osp.join(work, 'epoch_1.pth'))['state_dict']
    for rank in (0, 1):
        used = torch.load(osp.join(work, f'val_buffers_rank{rank}.pt'))
        assert any('running_mean' in name for name in used)
        for name, buf in used.items():
            assert torch.equal(buf, saved[name]), (rank, name)
    for name in ('lt/top1', 'lt/per_class_pred_count'):
        logged = [line.split(f' {name}: ')[1].split('  ')[0]
                  for line in log.splitlines() if 'Epoch(val) [1]' in line]
        expected = metrics[f'balanced/{name}']
        assert logged[-1] == (f'{expected:.4f}' if name.endswith('top1')
                              else str(expected)), name
