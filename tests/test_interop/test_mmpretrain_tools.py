"""mmpretrain's and MMEngine's own entry points on our configs and checkpoints.

One short training (the offline digits config, 1 epoch, in-process) gives the
checkpoint that every test here uses. The tools are mmpretrain's installed
ones (``mmpretrain/.mim/tools``), run in-process. mim finds our tools in
both kinds of install (the same lookup for every command): ``mim test`` runs
on a regular (non-editable) install of this repository, ``mim train``,
``mim search`` and ``mmengine.hub.get_config`` on the editable install of
the test run (after ``make mim-link``, which ``make setup`` runs).
"""
import json
import hashlib
import os
import glob
import os.path as osp
import re
import runpy
import shutil
import subprocess
import sys

import mmengine
import mmpretrain
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmpretrain.apis import ImageClassificationInferencer, get_model

from xerm_mm.engine import XERMRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_NAME = 'xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py'
CONFIG = osp.join(ROOT, 'configs', 'xe', CONFIG_NAME)
MMPRETRAIN_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
PUBLISH_MODEL = osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py')
# One epoch, no LR schedule (the warm-up would outlast it).
SHORT = ['train_cfg.max_epochs=1', 'param_scheduler=None']
# MultiTestLoop prefixes the metrics with the test set's name; mmpretrain's
# confusion_matrix.py reads 'confusion_matrix/result' of one plain TestLoop.
PLAIN_TEST_LOOP = ['test_cfg._delete_=True', 'test_cfg.type=TestLoop']


def _config(work_dir: str, name: str) -> Config:
    """The digits config, shortened, in its own work dir and experiment."""
    cfg = Config.fromfile(CONFIG)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = None
    cfg.work_dir = work_dir
    # Each runner its own MessageHub / logger (they are named after it).
    cfg.experiment_name = name
    return cfg


def _run_tool(path: str, *args: str, monkeypatch) -> None:
    """Run an installed tool's script in this process, as its CLI would."""
    monkeypatch.setattr(sys, 'argv', [path, *args])
    runpy.run_path(path, run_name='__main__')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """1 epoch built by MMEngine's RUNNERS.build, as mmpretrain's train.py.

    Returns the work dir, the checkpoint, and the message hub's state at the
    moment a second checkpoint (``snapshot.pth``) was saved.
    """
    work_dir = str(tmp_path_factory.mktemp('interop'))
    runner = RUNNERS.build(_config(work_dir, 'interop_train'))
    assert type(runner) is XERMRunner
    runner.train()
    hub_state = runner.message_hub.state_dict()
    runner.save_checkpoint(work_dir, 'snapshot.pth')
    return dict(
        work_dir=work_dir,
        ckpt=osp.join(work_dir, 'epoch_1.pth'),
        snapshot=osp.join(work_dir, 'snapshot.pth'),
        hub_state=hub_state,
        val_top1=runner.message_hub.get_scalar('val/lt/top1').current())


def test_checkpoint_loads_weights_only_without_allowlist(trained):
    # Nothing of ours or numpy's on torch's process-wide allowlist.
    allowed = torch.serialization.get_safe_globals()
    assert not [g for g in allowed if getattr(g, '__module__', '').startswith(
        ('numpy', 'xerm_mm'))]
    for path in (trained['ckpt'], trained['snapshot']):
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
        assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(ckpt)
        assert ckpt['meta']['dataset_meta']['classes'] == tuple('0123456789')


def test_resume_restores_log_buffers_exactly(trained, tmp_path):
    runner = RUNNERS.build(_config(str(tmp_path), 'interop_resume'))
    runner.train_loop  # built on first use; resume sets its epoch
    runner.resume(trained['snapshot'])
    saved, resumed = trained['hub_state'], runner.message_hub
    assert set(resumed.log_scalars) == set(saved['log_scalars'])
    for key, buffer in saved['log_scalars'].items():
        for got, want in zip(resumed.log_scalars[key].data, buffer.data):
            assert got.dtype == want.dtype, key
            np.testing.assert_array_equal(got, want, err_msg=key)
        for method in ('mean', 'current', 'max', 'min'):
            assert resumed.log_scalars[key].statistics(method) == \
                buffer.statistics(method), (key, method)
    assert resumed.get_info('eta') == saved['runtime_info']['eta']
    assert runner.train_loop.epoch == 2


def test_get_model_builds_config_and_loads_checkpoint(trained):
    model = get_model(CONFIG, pretrained=trained['ckpt'])
    assert type(model.backbone).__name__ == 'BBNResNet32'
    assert model._dataset_meta['classes'] == tuple('0123456789')
    weights = torch.load(trained['ckpt'])['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_inferencer_predicts_as_the_model(trained):
    from mmpretrain.registry import DATASETS
    inferencer = ImageClassificationInferencer(
        CONFIG, pretrained=trained['ckpt'])
    cfg = Config.fromfile(CONFIG)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    images = [dataset[i]['img'] for i in range(8)]
    results = inferencer(images, batch_size=4)

    model = get_model(CONFIG, pretrained=trained['ckpt'])
    inputs = torch.stack([torch.from_numpy(img).permute(2, 0, 1)
                          for img in images])
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=inputs), False)
        scores = model(data['inputs'], mode='tensor').softmax(dim=1)
    got = torch.tensor(np.stack([result['pred_scores'] for result in results]))
    torch.testing.assert_close(got, scores, rtol=1e-4, atol=1e-5)
    for result, score in zip(results, scores):
        assert result['pred_label'] == int(score.argmax())
        assert result['pred_class'] == str(int(score.argmax()))


def test_mmpretrain_get_flops(capsys, monkeypatch):
    _run_tool(
        osp.join(MMPRETRAIN_TOOLS, 'analysis_tools', 'get_flops.py'),
        CONFIG, '--shape', '32', monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert 'Input shape: (3, 32, 32)' in out
    flops = re.search(r'Flops: ([\d.]+)M', out)
    params = re.search(r'Params: ([\d.]+)M', out)
    assert flops and params, out[-2000:]
    model = get_model(CONFIG)
    n_params = sum(p.numel() for p in model.parameters())
    assert float(params.group(1)) == pytest.approx(n_params / 1e6, abs=1e-3)
    # ResNet-32 on 32x32 images: about 70 MFLOPs.
    assert 50 < float(flops.group(1)) < 100


def test_mmpretrain_confusion_matrix(trained, tmp_path, monkeypatch):
    out = str(tmp_path / 'cm.pkl')
    _run_tool(
        osp.join(MMPRETRAIN_TOOLS, 'analysis_tools', 'confusion_matrix.py'),
        CONFIG, trained['ckpt'], '--out', out, '--cfg-options',
        *PLAIN_TEST_LOOP, monkeypatch=monkeypatch)
    matrix = mmengine.load(out)
    # The balanced test set: 50 images per digit.
    assert matrix.shape == (10, 10)
    assert matrix.sum(dim=1).tolist() == [50] * 10
    # Its val set is the same test set: the same accuracy as in training.
    top1 = 100 * matrix.diag().sum().item() / matrix.sum().item()
    assert top1 == pytest.approx(trained['val_top1'])


def test_mmpretrain_train_tool_with_its_own_defaults(tmp_path, monkeypatch):
    # mmpretrain's tools/train.py injects persistent_workers=True, which a
    # loader without workers refuses: the digits configs set it off.
    _run_tool(
        osp.join(MMPRETRAIN_TOOLS, 'train.py'), CONFIG, '--work-dir',
        # One epoch of the 30-epoch schedule: XERMRunner leaves out the
        # cosine phase that would begin at epoch 2.
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
        'experiment_name=interop_mmpretrain_train',
        monkeypatch=monkeypatch)
    ckpt = osp.join(str(tmp_path), 'epoch_1.pth')
    assert osp.isfile(ckpt)
    assert 'state_dict' in torch.load(ckpt, weights_only=True)


def test_mmpretrain_test_tool(trained, tmp_path, monkeypatch):
    # mmpretrain's tools/test.py builds our runner and MultiTestLoop.
    _run_tool(
        osp.join(MMPRETRAIN_TOOLS, 'test.py'),
        CONFIG, trained['ckpt'], '--work-dir', str(tmp_path),
        '--cfg-options', 'experiment_name=interop_mmpretrain_test',
        monkeypatch=monkeypatch)
    logs = ''.join(
        open(path).read()
        for path in glob.glob(osp.join(str(tmp_path), '*', '*.log')))
    top1 = re.findall(r'balanced/lt/top1: ([\d.]+)', logs)
    assert top1, logs[-2000:]
    # Its balanced test set is the val set of training: the same accuracy.
    assert float(top1[-1]) == pytest.approx(trained['val_top1'], abs=1e-3)
    assert 'ib10/lt/top1' in logs and 'ib5/lt/top1' in logs


def test_runner_from_cfg_builds_our_model(tmp_path):
    runner = Runner.from_cfg(_config(str(tmp_path), 'interop_from_cfg'))
    assert type(runner) is Runner
    assert type(runner.model.backbone).__name__ == 'BBNResNet32'
    assert type(runner.test_loop).__name__ == 'MultiTestLoop'


def test_publish_model(trained, tmp_path):
    publish = runpy.run_path(PUBLISH_MODEL)['main']
    final = publish([trained['ckpt'], str(tmp_path / 'xe_digits.pth')])
    name = osp.basename(final)
    match = re.fullmatch(r'xe_digits_(\d{8})-([0-9a-f]{8})\.pth', name)
    assert match, name
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == match.group(2)
    ckpt = torch.load(final, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert set(ckpt['meta']) == {
        'dataset_meta', 'epoch', 'iter', 'xerm_mm_version',
        'mmpretrain_version', 'mmengine_version'
    }
    model = get_model(CONFIG, pretrained=final)
    assert model._dataset_meta['classes'] == tuple('0123456789')
    # The same file again: the name is reproducible.
    assert publish([trained['ckpt'], str(tmp_path / 'xe_digits.pth')]) == final


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """This repository installed as a user installs it (no editable mode).

    mim finds a package's tools and configs through the location of its
    distribution, which an editable install does not have.
    """
    src = str(tmp_path_factory.mktemp('src') / 'xerm_mm_src')
    top_level = {'.git', '.venv', 'work_dirs', 'data', 'build'}

    def ignore(folder, names):
        skip = {'__pycache__', '.mim', '.pytest_cache'}
        if osp.samefile(folder, ROOT):
            skip |= top_level
        return [n for n in names if n in skip or n.endswith('.egg-info')]

    # Built from a copy: a build replaces the links of xerm_mm/.mim by copies.
    shutil.copytree(ROOT, src, ignore=ignore, symlinks=True)
    target = str(tmp_path_factory.mktemp('site'))
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
        '--no-build-isolation', '--no-index', '--target', target, src
    ], check=True, capture_output=True)
    mim_root = osp.join(target, 'xerm_mm', '.mim')
    assert osp.isfile(osp.join(mim_root, 'tools', 'train.py'))
    assert not osp.islink(osp.join(mim_root, 'tools'))
    return target


@pytest.fixture(scope='module')
def editable():
    """The editable install of this checkout, linked for mim by ``make
    mim-link`` (what ``make setup`` runs)."""
    from importlib import metadata
    dist = metadata.distribution('xerm_mm')
    info = json.loads(dist.read_text('direct_url.json') or '{}')
    if not info.get('dir_info', {}).get('editable') or not osp.samefile(
            info['url'][len('file://'):], ROOT):
        pytest.skip('xerm_mm is not installed editable from this checkout')
    proc = subprocess.run(['make', '-s', '-C', ROOT, 'mim-link',
                           f'VENV={sys.prefix}'], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'mim_link: ' in proc.stdout
    return None  # no PYTHONPATH: the venv's own install


def _mim(installed, *args: str, cwd: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    if installed is not None:
        env['PYTHONPATH'] = installed
    proc = subprocess.run([sys.executable, '-m', 'mim', *args],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def _tools_of(installed) -> str:
    """The tools mim runs: the package's ``.mim/tools`` (in the editable
    install, the distribution's link to this checkout's)."""
    if installed is None:
        import sysconfig
        return osp.join(sysconfig.get_paths()['purelib'], 'xerm_mm', '.mim',
                        'tools')
    return osp.join(installed, 'xerm_mm', '.mim', 'tools')


def test_mim_search_editable(editable, tmp_path):
    out = _mim(editable, 'search', 'xerm_mm', '--field', 'config', cwd=str(
        tmp_path))
    assert 'config id: xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100' in out
    assert 'configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py' in out


def test_hub_get_config_editable(editable, tmp_path):
    code = ('import xerm_mm\n'
            'from mmengine.hub import get_config\n'
            "cfg = get_config('xerm_mm::xe/"
            "xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py')\n"
            'print(cfg.filename)\n'
            "print(cfg.model.backbone.type)\n")
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    filename, backbone = proc.stdout.split()[-2:]
    assert osp.samefile(filename, osp.join(
        ROOT, 'configs', 'xe', 'xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'))
    assert backbone == 'xerm_mm.BBNResNet32'


@pytest.mark.slow
def test_mim_train(editable, tmp_path):
    out = _mim(editable, 'train', 'xerm_mm', CONFIG_NAME, '--work-dir',
               str(tmp_path), '--cfg-options', *SHORT, cwd=str(tmp_path))
    script = osp.join(_tools_of(editable), 'train.py')
    assert f'Training command is {sys.executable} {script}' in out
    assert 'Epoch(train) [1][8/8]' in out
    torch.load(str(tmp_path / 'epoch_1.pth'), weights_only=True)


@pytest.mark.slow
def test_mim_test(installed, trained, tmp_path):
    out = _mim(installed, 'test', 'xerm_mm', CONFIG_NAME, '--checkpoint',
               trained['ckpt'], '--work-dir', str(tmp_path),
               cwd=str(tmp_path))
    script = osp.join(_tools_of(installed), 'test.py')
    assert f'Testing command is {sys.executable} {script}' in out
    rows = [line.split('|')[1].strip() for line in out.splitlines()
            if line.startswith('| ')]
    assert rows == ['test set', 'balanced', 'ib10', 'ib5']
