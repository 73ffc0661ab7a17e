"""tools/analysis_tools/cam.py: Grad-CAM of tiny DigitsLT models.

Grad-CAM is the optional grad-cam package (requirements/cam.txt, in the test
requirements too); the tests that compute CAMs skip without it.
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
from inprocess_tool import load_tool, run_main
from trained_digits import CONFIGS, figure_numbers, trained_checkpoint
from xerm_mm.analysis.features import preprocess
from xerm_mm.analysis.trained_model import load_model_and_test_set
from xerm_mm.utils.checkpoint_checks import CheckpointMismatchError

pytestmark = pytest.mark.usefixtures('one_thread')

CAM = 'analysis_tools/cam'
needs_grad_cam = pytest.mark.skipif(
    importlib.util.find_spec('pytorch_grad_cam') is None,
    reason='the optional grad-cam package is not installed')


@pytest.fixture(scope='module')
def cam_tool():
    """The functions of the tool (``grad_cam``, ``predicted_logits``)."""
    return load_tool(CAM)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``{XE, TDE: checkpoint path}``."""
    return {name: trained_checkpoint(name, tmp_path_factory)
            for name in ('XE', 'TDE')}


def _models(checkpoints, *names):
    args = []
    for name in names:
        ckpt = checkpoints['XE' if name == 'PC' else name]
        args += ['--model', name, CONFIGS[name], ckpt]
    return args


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
    assert figure_numbers(tmp_path, 'cam') == json.loads(json.dumps(numbers))
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
def test_grad_cam_of_a_linear_head_is_its_class_activation_map(checkpoints,
                                                                cam_tool):
    # Pooling then a linear layer: the gradient of logit c is W_c / (h w)
    # everywhere, so Grad-CAM is ReLU(sum_k W_ck A_k) (Zhou et al.'s CAM).
    model, dataset = load_model_and_test_set(CONFIGS['XE'],
                                             checkpoints['XE'])
    inputs, _ = preprocess(model, dataset, [3, 77, 310])
    cams, logits = cam_tool.grad_cam(model, inputs)
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
def test_grad_cam_of_a_tde_view_follows_the_definition(checkpoints,
                                                        cam_tool):
    # Grad-CAM by hand: the gradient of the TDE view's logit averaged over
    # the last map weights its channels; ReLU; resized; scaled to [0, 1].
    model, dataset = load_model_and_test_set(CONFIGS['TDE'],
                                             checkpoints['TDE'])
    inputs, _ = preprocess(model, dataset, [5, 250])
    targets = torch.tensor([3, 7])
    cams, logits = cam_tool.grad_cam(model, inputs, targets)
    maps = model.backbone(inputs)[-1].detach().requires_grad_()
    by_hand = cam_tool.predicted_logits(model, model.neck((maps, )))
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


def test_grad_cam_requirement_is_the_pinned_one(cam_tool):
    for name in ('cam.txt', 'tests.txt'):
        with open(osp.join(ROOT, 'requirements', name)) as f:
            assert cam_tool.GRAD_CAM_REQUIREMENT in f.read().split(), name
