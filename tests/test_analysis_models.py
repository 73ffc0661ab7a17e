"""The analysis tools that run models: t-SNE, CAM and the feature study.

XE and TDE are trained for one epoch on DigitsLT IB 100 (module fixtures,
in this process); the xERM-TDE checkpoint is its student's state dict as
XERMRunner saves it (teachers are not part of it), untrained.
"""
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT
from inprocess_tool import run_main
from xerm_mm.analysis.features import preprocess
from xerm_mm.analysis.grad_cam import (GRAD_CAM_REQUIREMENT, grad_cam,
                                       predicted_logits)
from xerm_mm.analysis.trained_model import (build_model, load_config,
                                            load_model_and_test_set)
from xerm_mm.utils.checkpoint_checks import CheckpointMismatchError

pytestmark = pytest.mark.usefixtures('one_thread')

RECIPE = 'bbn-resnet32_1xb16-16e_digitslt-ib100'
CONFIGS = {
    'XE': osp.join(ROOT, f'configs/xe/xe_{RECIPE}.py'),
    'PC': osp.join(ROOT, f'configs/pc/pc_{RECIPE}.py'),
    'TDE': osp.join(ROOT, f'configs/tde/tde_{RECIPE}.py'),
    'xERM-TDE': osp.join(ROOT, f'configs/xerm/xerm-tde_{RECIPE}.py'),
}
STUDY = osp.join(ROOT, 'configs/feature_study/frozen-backbone_bbn-resnet32_'
                 '1xb16-4e_digits.py')
TSNE = 'analysis_tools/tsne'
CAM = 'analysis_tools/cam'
FEATURE_STUDY = 'analysis_tools/feature_study'
# Grad-CAM is the optional grad-cam package (requirements/cam.txt, in the
# test requirements too).
needs_grad_cam = pytest.mark.skipif(
    importlib.util.find_spec('pytorch_grad_cam') is None,
    reason='the optional grad-cam package is not installed')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``{XE, TDE, xERM-TDE: checkpoint path}``."""
    paths = {}
    for name in ('XE', 'TDE'):
        work = tmp_path_factory.mktemp(name)
        run_main('train', CONFIGS[name], '--work-dir', work, '--no-validate',
                 '--cfg-options', 'train_cfg.max_epochs=1')
        paths[name] = str(work / 'epoch_1.pth')
    student = build_model(load_config(CONFIGS['xERM-TDE']))
    assert not [k for k in student.state_dict() if 'teacher' in k]
    paths['xERM-TDE'] = str(tmp_path_factory.mktemp('xerm') / 'student.pth')
    torch.save(dict(state_dict=student.state_dict()), paths['xERM-TDE'])
    return paths


def _outputs(folder, name):
    assert open(osp.join(folder, f'{name}.png'), 'rb').read(4) == b'\x89PNG'
    assert open(osp.join(folder, f'{name}.pdf'), 'rb').read(5) == b'%PDF-'
    return json.load(open(osp.join(folder, f'{name}.json')))


def _models(checkpoints, *names):
    args = []
    for name in names:
        ckpt = checkpoints['XE' if name == 'PC' else name]
        args += ['--model', name, CONFIGS[name], ckpt]
    return args


def test_tsne_is_deterministic_and_cached(checkpoints, tmp_path):
    args = [*_models(checkpoints, 'XE', 'xERM-TDE'), '--per-class', '15',
            '--out-dir', tmp_path]
    first, out = run_main(TSNE, *args)
    assert 'features of 500 images written' in out
    data = np.load(tmp_path / 'tsne_XE_features.npz')
    assert data['features'].shape == (500, 128)
    assert np.bincount(data['labels']).tolist() == [50] * 10
    # Nine digits from the most (0: 124 images) to the least trained.
    assert [c['id'] for c in first['classes']] == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert first['classes'][-1]['train_count'] == 1
    assert _outputs(tmp_path, 'tsne') == json.loads(json.dumps(first))
    for model in first['models'].values():
        assert np.asarray(model['points']).shape == (9 * 15, 2)
        assert data['labels'][model['indices']].tolist() == model['labels']
    # Features extracted again (another name): the same points.
    again, out = run_main(TSNE, *args[:4], *args[8:], '--name', 'again')
    assert 'written to' in out
    assert again['models']['XE'] == first['models']['XE']
    # A re-plot reads the cache; another seed moves the points.
    other, out = run_main(TSNE, *args, '--seed', '1', '--classes', '9', '0')
    assert 'features read from' in out
    assert [c['id'] for c in other['classes']] == [0, 9]
    assert len(other['models']['XE']['points']) == 30


def test_tsne_refuses_bad_input(checkpoints, tmp_path):
    xe = ['--model', 'XE', CONFIGS['XE'], checkpoints['XE']]
    with pytest.raises(ValueError, match=r"--classes '12': no such class; "
                       r'give ids 0\.\.9'):
        run_main(TSNE, *xe, '--classes', '12', '--out-dir', tmp_path)
    with pytest.raises(FileNotFoundError,
                       match=r"--model XE: checkpoint '.*missing.pth' not"):
        run_main(TSNE, '--model', 'XE', CONFIGS['XE'],
                 tmp_path / 'missing.pth', '--out-dir', tmp_path)


@needs_grad_cam
def test_cam_refuses_bad_input(checkpoints, tmp_path):
    xe = ['--model', 'XE', CONFIGS['XE'], checkpoints['XE']]
    with pytest.raises(KeyError, match=r"--test-set 'ib7'.*'ib100'"):
        run_main(CAM, *xe, '--indices', '0', '--test-set', 'ib7',
                 '--out-dir', tmp_path)
    with pytest.raises(IndexError, match=r'--indices \[500\].*0\.\.499'):
        run_main(CAM, *xe, '--indices', '0', '500', '--out-dir', tmp_path)
    # A TDE checkpoint is not an XE network.
    with pytest.raises(CheckpointMismatchError, match='TDE|head'):
        run_main(CAM, '--model', 'XE', CONFIGS['XE'], checkpoints['TDE'],
                 '--indices', '0', '--out-dir', tmp_path)


@needs_grad_cam
def test_cam_of_the_predicting_view(checkpoints, tmp_path):
    indices = [0, 120, 499]
    numbers, out = run_main(CAM, *_models(checkpoints, 'XE', 'PC', 'TDE'),
                            '--indices', *indices, '--out-dir', tmp_path)
    assert _outputs(tmp_path, 'cam') == json.loads(json.dumps(numbers))
    assert [i['index'] for i in numbers['images']] == indices
    cams = np.load(tmp_path / 'cam_cams.npz')
    for name, model in numbers['models'].items():
        assert cams[name].shape == (3, 32, 32)
        assert cams[name].min() >= 0 and cams[name].max() <= 1
        assert model['target'] == model['pred']
        assert [s['shape'] for s in model['cam_summary']] == [[32, 32]] * 3
        # The predicted classes are the model's own predictions (PC: the
        # balanced view of the XE network, TDE: its TDE view).
        net, dataset = load_model_and_test_set(
            CONFIGS[name], checkpoints['XE' if name == 'PC' else name])
        inputs, samples = preprocess(net, dataset, indices)
        with torch.no_grad():
            pred = [int(s.pred_label[0]) for s in net.predict(inputs)]
        assert model['pred'] == pred
        labels = [int(s.gt_label[0]) for s in samples]
        assert [i['label'] for i in numbers['images']] == labels
    gt, _ = run_main(CAM, *_models(checkpoints, 'XE'), '--indices', *indices,
                     '--target', 'gt', '--out-dir', tmp_path)
    assert gt['models']['XE']['target'] == labels


@needs_grad_cam
def test_grad_cam_of_a_linear_head_is_its_class_activation_map(checkpoints):
    # Pooling then a linear layer: the gradient of logit c is W_c / (h w)
    # everywhere, so Grad-CAM is ReLU(sum_k W_ck A_k) (Zhou et al.'s CAM).
    model, dataset = load_model_and_test_set(CONFIGS['XE'],
                                             checkpoints['XE'])
    inputs, _ = preprocess(model, dataset, [3, 77, 310])
    cams, logits = grad_cam(model, inputs)
    with torch.no_grad():
        maps = model.backbone(inputs)[-1]
        weight = model.head.fc.weight[logits.argmax(1)]
        expected = F.relu(torch.einsum('nk,nkhw->nhw', weight, maps))
    expected = F.interpolate(expected[:, None], size=(32, 32),
                             mode='bilinear')[:, 0]
    expected -= expected.amin(dim=(1, 2), keepdim=True)
    expected /= expected.amax(dim=(1, 2), keepdim=True)
    torch.testing.assert_close(cams, expected, atol=1e-4, rtol=1e-4)


@needs_grad_cam
def test_grad_cam_of_a_tde_view_follows_the_definition(checkpoints):
    # Grad-CAM by hand: the gradient of the TDE view's logit averaged over
    # the last map weights its channels; ReLU; resized; scaled to [0, 1].
    model, dataset = load_model_and_test_set(CONFIGS['TDE'],
                                             checkpoints['TDE'])
    inputs, _ = preprocess(model, dataset, [5, 250])
    targets = torch.tensor([3, 7])
    cams, logits = grad_cam(model, inputs, targets)
    maps = model.backbone(inputs)[-1].detach().requires_grad_()
    by_hand = predicted_logits(model, model.neck((maps, )))
    torch.testing.assert_close(logits, by_hand.detach())
    grads, = torch.autograd.grad(by_hand.gather(1, targets[:, None]).sum(),
                                 maps)
    expected = F.relu((grads.mean(dim=(2, 3), keepdim=True) *
                       maps).sum(dim=1)).detach()
    expected = F.interpolate(expected[:, None], size=(32, 32),
                             mode='bilinear')[:, 0]
    expected -= expected.amin(dim=(1, 2), keepdim=True)
    expected /= expected.amax(dim=(1, 2), keepdim=True)
    torch.testing.assert_close(cams, expected, atol=1e-4, rtol=1e-4)
    assert all(p.grad is None for p in model.parameters())


def test_cam_without_grad_cam_says_how_to_install_it(tmp_path, monkeypatch):
    # Refused before any model is loaded (the checkpoint does not exist).
    monkeypatch.setitem(sys.modules, 'pytorch_grad_cam', None)
    with pytest.raises(ImportError,
                       match=r"pip install 'grad-cam==1\.4\.8'"):
        run_main(CAM, '--model', 'XE', CONFIGS['XE'],
                 tmp_path / 'missing.pth', '--indices', '0', '--out-dir',
                 tmp_path)


def test_grad_cam_requirement_is_the_pinned_one():
    for name in ('cam.txt', 'tests.txt'):
        with open(osp.join(ROOT, 'requirements', name)) as f:
            assert GRAD_CAM_REQUIREMENT in f.read().split(), name


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)[
        'state_dict']


def test_feature_study_retrains_only_the_classifier(checkpoints, tmp_path):
    models = ['--model', 'XE', checkpoints['XE'], '--model', 'TDE',
              checkpoints['TDE'], '--model', 'xERM-TDE',
              checkpoints['xERM-TDE']]
    # Two short epochs: 320 of the 1,240 balanced training images.
    options = ['--cfg-options', 'train_cfg.max_epochs=2',
               'train_dataloader.batch_size=64',
               'train_dataloader.dataset.indices=320']
    args = ['--config', STUDY, *models, '--work-dir', tmp_path, *options]
    numbers, out = run_main(FEATURE_STUDY, *args)
    assert '| backbone | top1 | many | medium | few |' in out
    assert json.load(open(tmp_path / 'feature_study.json')) == \
        json.loads(json.dumps(numbers))
    for name, row in numbers['models'].items():
        metrics = json.load(open(row['metrics_file']))
        assert row['top1'] == metrics['balanced/lt/top1']
        assert row['few'] == metrics['balanced/lt/few_recall']
        # Groups of the long-tailed training that made the backbone.
        assert metrics['balanced/lt/per_class_train_count'] == [
            124, 74, 44, 26, 16, 9, 5, 3, 2, 1]
        assert f"| {name} | {row['top1']:.2f} |" in out
        source = _state(checkpoints[name])
        epochs = [_state(osp.join(row['work_dir'], f'epoch_{e}.pth'))
                  for e in (1, 2)]
        backbone = [k for k in source if k.startswith('backbone.')]
        assert any('running_var' in k for k in backbone)
        for state in epochs:  # weights and BatchNorm buffers unchanged
            assert [k for k in backbone
                    if not torch.equal(state[k], source[k])] == []
        assert set(epochs[1]) == set(epochs[0])
        assert set(k for k in epochs[1] if k.startswith('head.')) == {
            'head.fc.weight', 'head.fc.bias'}
        assert not torch.equal(epochs[0]['head.fc.weight'],
                               epochs[1]['head.fc.weight'])
    # Resumable: nothing runs again.
    again, out = run_main(FEATURE_STUDY, *args)
    assert out.count('done before') == 3 and again == numbers
    # Interrupted after XE's first epoch: its training resumes there.
    xe = tmp_path / 'XE'
    for done in ('metrics.json', 'epoch_2.pth'):
        (xe / done).unlink()
    (xe / 'last_checkpoint').write_text(str(xe / 'epoch_1.pth'))
    again, out = run_main(FEATURE_STUDY, *args)
    assert out.count('done before') == 2
    assert '--no-validate --resume --cfg-options' in out
    assert 'resumed epoch: 1' in out
    assert (xe / 'epoch_2.pth').is_file() and (xe / 'metrics.json').is_file()
    # The work dir of XE is not reused for another checkpoint.
    with pytest.raises(FileExistsError, match='--model XE: .*another '
                       '--work-dir'):
        run_main(FEATURE_STUDY, '--config', STUDY, '--model', 'XE',
                 checkpoints['TDE'], '--work-dir', tmp_path, *options)


def test_feature_study_refuses_bad_input(checkpoints, tmp_path):
    study = ['--config', STUDY, '--work-dir', tmp_path]
    with pytest.raises(FileNotFoundError, match="--model XE: checkpoint '"):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', tmp_path / 'no.pth')
    head_only = tmp_path / 'head.pth'
    source = _state(checkpoints['XE'])
    torch.save(dict(state_dict={k: v for k, v in source.items()
                                if k.startswith('head.')}), head_only)
    with pytest.raises(KeyError, match=r'head.pth.* holds no backbone\.\*'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', head_only)
    narrow = tmp_path / 'narrow.pth'
    torch.save(dict(state_dict=dict(
        source, **{'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)})),
        narrow)
    with pytest.raises(CheckpointMismatchError, match='conv1.weight'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', narrow)
    with pytest.raises(ValueError, match='backbone is not frozen.*'
                       'frozen_stages'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', checkpoints['XE'],
                 '--cfg-options', 'model.backbone.frozen_stages=-1')
    assert not osp.exists(tmp_path / 'XE')  # refused before any training
