"""tools/gpu/cifar_pack.py (pack / unpack round trip) and the CPU mode of
tools/benchmarks/gpu_steps.py, on a small fake CIFAR-100; what
tools/gpu/fetch_wheels.sh asks pip (with a stand-in Python)."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import subprocess

import numpy as np
import pytest
import torch

from xerm_mm.datasets import CIFAR100LT

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN, TEST = 10, 3  # images per class of the fake CIFAR-100


def _load_tool(path):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cifar_pack = _load_tool('tools/gpu/cifar_pack.py')


def write_fake_cifar100(root, seed=0):
    """``root/cifar-100-python`` with random images, TRAIN / TEST per class
    (labels shuffled, as in the real files)."""
    rng = np.random.RandomState(seed)
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder)
    for split, per_class in (('train', TRAIN), ('test', TEST)):
        fine = rng.permutation(np.repeat(np.arange(100), per_class))
        entry = dict(data=rng.randint(0, 256, (len(fine), 3072), np.uint8),
                     fine_labels=fine.tolist(),
                     coarse_labels=(fine // 5).tolist(),
                     filenames=[f'{i}.png' for i in range(len(fine))],
                     batch_label=split)
        with open(osp.join(folder, split), 'wb') as f:
            pickle.dump(entry, f)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump(dict(fine_label_names=[f'c{i}' for i in range(100)],
                         coarse_label_names=[f'g{i}' for i in range(20)]), f)
    return str(root)


@pytest.fixture(scope='module')
def fake_cifar100(tmp_path_factory):
    return write_fake_cifar100(tmp_path_factory.mktemp('cifar100'))


def _images(root, **kwargs):
    ds = CIFAR100LT(root, images_per_class=dict(train=TRAIN, test=TEST),
                    **kwargs)
    return [(ds.get_data_info(i)['img'], ds.get_data_info(i)['gt_label'])
            for i in range(len(ds))]


def test_pack_unpack_round_trip(fake_cifar100, tmp_path):
    pack = str(tmp_path / 'pack.npz')
    cifar_pack.main(['pack', fake_cifar100, pack, '--imbalance-ratio', '5'])
    cifar_pack.main(['unpack', pack, str(tmp_path / 'restored')])
    restored = str(tmp_path / 'restored')
    # The long-tailed training split and every test set: same images, same
    # labels, same order; the restored files pass the dataset's checks.
    for kwargs in (dict(split='train', imbalance_ratio=5),
                   dict(split='test', imbalance_ratio=1,
                        train_imbalance_ratio=5),
                   dict(split='test', imbalance_ratio=5,
                        train_imbalance_ratio=5)):
        want, got = _images(fake_cifar100, **kwargs), _images(restored,
                                                                **kwargs)
        assert len(got) == len(want) > 0
        for (w_img, w_label), (g_img, g_label) in zip(want, got):
            np.testing.assert_array_equal(g_img, w_img)
            assert g_label == w_label
    # Elsewhere in the training split: the placeholder, labels unchanged.
    with open(osp.join(restored, 'cifar-100-python', 'train'), 'rb') as f:
        train = pickle.load(f)
    with open(osp.join(fake_cifar100, 'cifar-100-python', 'train'),
              'rb') as f:
        original = pickle.load(f)
    assert train['fine_labels'] == original['fine_labels']
    assert train['coarse_labels'] == original['coarse_labels']
    keep = np.load(pack)['train_keep']
    others = np.setdiff1d(np.arange(100 * TRAIN), keep)
    assert len(others) > 0
    assert (train['data'][others] == cifar_pack.PLACEHOLDER).all()
    assert 'imbalance_ratio=5' in train['batch_label']


def test_unpack_refuses_a_damaged_pack(fake_cifar100, tmp_path):
    pack = str(tmp_path / 'pack.npz')
    cifar_pack.pack(fake_cifar100, pack, imbalance_ratio=10)
    arrays = dict(np.load(pack))
    arrays['test_md5'] = np.array('0' * 32)
    np.savez(pack, **arrays)
    with pytest.raises(SystemExit, match=r'test images .*\(md5 differs\)'):
        cifar_pack.unpack(pack, str(tmp_path / 'out'))
    with pytest.raises(SystemExit, match='not a pack'):
        cifar_pack.unpack(str(tmp_path / 'nothing.npz'), str(tmp_path / 'o'))


gpu_steps = _load_tool('tools/benchmarks/gpu_steps.py')


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here')
def test_gpu_steps_without_cuda_says_so(capsys):
    assert gpu_steps.main(['--data-root', '/nonexistent']) == 0
    assert 'no CUDA device here' in capsys.readouterr().out


def test_gpu_steps_cpu_mode(fake_cifar100, tmp_path, capsys, one_thread):
    """Every contender (the standard configs stand in for their fast twins:
    empty --fast-suffix) trains on the CPU; the projection covers the 200
    epoch pipeline's 4 stages and 5 evaluations."""
    out = str(tmp_path / 'bench.json')
    per_class = []
    for loader in ('train_dataloader', 'test_dataloader'):
        per_class += [
            f'{loader}.dataset.images_per_class.train={TRAIN}',
            f'{loader}.dataset.images_per_class.test={TEST}'
        ]
    assert gpu_steps.main([
        '--data-root', fake_cifar100, '--device', 'cpu', '--batch', '4',
        '--steps', '1', '--rounds', '1', '--workers', '0', '--fast-suffix',
        '', '--pipeline', gpu_steps.FALLBACK_PIPELINE, '--json-out', out,
        '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', *per_class
    ]) == 0
    text = capsys.readouterr().out
    result = json.load(open(out))
    assert set(result['images_per_s']) == {
        'xe_standard', 'xe_fast', 'xerm_standard', 'xerm_fast'}
    assert all(v > 0 for v in result['images_per_s'].values())
    proj = result['projection']
    assert list(proj['stages']) == [
        'xe', 'tde', 'xe_2x', 'xerm_pc', 'xerm_tde']
    # The budget-matched XE trains twice the epochs of the XE teacher.
    assert proj['stages']['xe_2x']['epochs'] == \
        2 * proj['stages']['xe']['epochs']
    assert len(proj['evaluations']) == 7
    n_train = len(_images(fake_cifar100, split='train', imbalance_ratio=100))
    assert proj['stages']['xe']['iterations'] == 200 * -(-n_train // 128)
    assert proj['stages']['xerm_pc']['step'] == 'xerm_standard'
    assert 0 < proj['critical_path_minutes'] < proj['serial_minutes']
    assert 'XE step, fast path' in text and 'projected minutes' in text


def test_gpu_steps_projects_post_hoc_and_init_from_stages():
    """A post-hoc stage trains nothing (a feature pass, and TDE's chooser
    its two tests); the critical path follows the dependency levels."""
    from types import SimpleNamespace
    step_s = dict(batch=128, xe_standard=0.1, xerm_standard=0.2)
    args = SimpleNamespace(startup_s=10.0)
    pipelines = osp.join(gpu_steps.REPO, 'configs', 'pipelines')
    proj = gpu_steps.project(
        osp.join(pipelines, 'xerm-decoupling_bbn-resnet32_1xb128-12e_'
                 'cifar100lt-ib100.py'), args, step_s, 1000.0, 10847, 10000)
    stages = proj['stages']
    assert stages['taunorm'] == dict(seconds=10.0 + 10.847, epochs=0,
                                     iterations=0, step='choose',
                                     validations=0, images=10847)
    assert stages['crt']['epochs'] == 2 and stages['crt']['step'] == \
        'xe_standard'
    # xe, then crt / lws / taunorm, then the students, then the tests.
    levels = [stages['xe']['seconds'],
              max(stages[n]['seconds'] for n in ('crt', 'lws', 'taunorm')),
              max(stages[n]['seconds']
                  for n in ('xerm_crt', 'xerm_lws', 'xerm_taunorm')),
              max(e['seconds'] for e in proj['evaluations'].values())]
    assert proj['critical_path_minutes'] == pytest.approx(sum(levels) / 60)
    proj = gpu_steps.project(
        osp.join(pipelines, 'xerm_bbn-resnet32_1xb128-12e_cifar100lt-'
                 'ib100.py'), args, step_s, 1000.0, 10847, 10000)
    tde_alpha = proj['stages']['tde_alpha']
    assert tde_alpha['step'] == 'choose'
    assert tde_alpha['images'] == 10847 + 2 * proj['evaluations']['TDE'][
        'images']
    assert 'TDE-auto-alpha' in proj['evaluations']


# A stand-in for the Python of tools/gpu/fetch_wheels.sh: it logs pip's
# arguments and requirement files, makes a wheel, and fails the offline
# check when CHECK_RC says so.
FAKE_PYTHON = r'''#!/usr/bin/env bash
[ "$1" = -c ] && { echo 'Python 3.11.7 Linux x86_64'; exit 0; }
echo "ARGS $*" >> "$FAKE_LOG"
prev=
for arg in "$@"; do
    [ "$prev" = -r ] && sed 's/^/REQ /' "$arg" >> "$FAKE_LOG"
    [ "$prev" = --wheel-dir ] && touch "$arg/demo-1.0-py3-none-any.whl"
    prev=$arg
done
case "$*" in *--dry-run*) exit "${CHECK_RC:-0}";; esac
'''


def _fetch_wheels(tmp_path, *args, check_rc=0):
    python = tmp_path / 'python'
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    log = tmp_path / 'pip.log'
    if log.exists():
        log.unlink()
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools/gpu/fetch_wheels.sh'), *args],
        env=dict(os.environ, PYTHON=str(python), FAKE_LOG=str(log),
                 CHECK_RC=str(check_rc)),
        capture_output=True, text=True)
    calls = log.read_text().split('ARGS ')[1:] if log.exists() else []
    return proc, calls


def test_fetch_wheels_for_an_offline_machine(tmp_path):
    dest = tmp_path / 'wheels'
    proc, (fetch, check) = _fetch_wheels(tmp_path, str(dest))
    assert proc.returncode == 0, proc.stderr
    # Every runtime requirement, built as wheels into DEST; then checked
    # offline against DEST alone.
    assert fetch.startswith(f'-m pip wheel -q --wheel-dir {dest} -r ')
    assert 'REQ torch==' in fetch and 'REQ mmpretrain==' in fetch
    assert '--dry-run --ignore-installed --no-index --find-links' in check
    assert str(dest) in check and 'REQ torch==' in check
    assert '1 wheels' in proc.stdout

    # The machine's own torch; the optional Grad-CAM, checked only where
    # its torch comes along.
    proc, calls = _fetch_wheels(tmp_path, '--no-torch', '--cam', str(dest))
    assert proc.returncode == 0, proc.stderr
    fetch, check = calls[0], calls[-1]
    assert 'REQ torch' not in fetch and 'REQ torchvision' not in fetch
    assert 'REQ mmengine==' in fetch and 'grad-cam' not in fetch
    # grad-cam's wheel without its needs (torch), then its other needs.
    assert any(call.startswith('-m pip wheel -q --no-deps') and
               'REQ grad-cam==1.4.8' in call for call in calls)
    assert 'grad-cam' not in check and 'REQ torch' not in check


def test_fetch_wheels_refuses_an_incomplete_folder_and_bad_options(
        tmp_path):
    proc, _ = _fetch_wheels(tmp_path, str(tmp_path / 'w'), check_rc=1)
    assert proc.returncode == 1
    assert 'does not satisfy the requirements offline' in proc.stderr
    proc, calls = _fetch_wheels(tmp_path, '--platform', 'x')
    assert proc.returncode == 2 and not calls
    assert 'unknown option --platform' in proc.stderr
