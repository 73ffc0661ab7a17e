"""mmpretrain's own visualization and test tools on our models and test sets.

The tools are mmpretrain's installed ones (``mmpretrain/.mim/tools``), run
in-process on the offline digits config with an untrained checkpoint (what
is checked is that they run on our backbones and loops, not accuracy).
``vis_cam.py`` needs the optional grad-cam package (requirements/cam.txt).
"""
import glob
import importlib.util
import os.path as osp
import runpy
import sys

import cv2
import mmengine
import mmpretrain
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.apis import get_model
from mmpretrain.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'xe',
                  'xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py')
MMPRETRAIN_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')

pytestmark = pytest.mark.usefixtures('one_thread')


def _run_tool(path: str, *args: str, monkeypatch) -> None:
    """Run an installed tool's script in this process, as its CLI would."""
    monkeypatch.setattr(sys, 'argv', [path, *map(str, args)])
    runpy.run_path(path, run_name='__main__')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An untrained BBN-ResNet-32 of the digits config, saved as a runner
    would (state dict and the classes)."""
    torch.manual_seed(0)
    model = get_model(CONFIG)
    path = str(tmp_path_factory.mktemp('interop_vis') / 'init.pth')
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=tuple('0123456789')))),
        path)
    return path


class TestVisTsne:
    """mmpretrain's tools/visualization/vis_tsne.py."""

    def test_runs_on_our_backbone(self, checkpoint, tmp_path, monkeypatch):
        # mmpretrain 1.2.0 passes TSNE(n_iter=...), which scikit-learn 1.7
        # renamed max_iter; the tool is run with that keyword mapped.
        from sklearn import manifold
        tsne = manifold.TSNE
        monkeypatch.setattr(manifold, 'TSNE',
                            lambda n_iter, **kw: tsne(max_iter=n_iter, **kw))
        _run_tool(
            osp.join(MMPRETRAIN_TOOLS, 'visualization', 'vis_tsne.py'),
            CONFIG, '--checkpoint', checkpoint, '--work-dir', tmp_path,
            '--max-num-samples', 5, '--perplexity', 5, '--n-iter', 250,
            '--device', 'cpu', monkeypatch=monkeypatch)
        out_dir, = glob.glob(osp.join(str(tmp_path), 'tsne_*'))
        # Named after backbone.out_indices: BBN-ResNet-32's last stage is 3.
        feats = np.load(osp.join(out_dir, 'feat_3.npy'))
        assert feats.shape == (50, 128)  # 5 images of each of 10 digits
        assert osp.isfile(osp.join(out_dir, 'feat_3.png'))
        # The first image of the test set comes first: its pooled map.
        cfg = Config.fromfile(CONFIG)
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        model = get_model(CONFIG, checkpoint).eval()
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(inputs=[dataset[0]['inputs']]), False)
            expected = F.adaptive_avg_pool2d(
                model.backbone(data['inputs'])[-1], 1).flatten()
        np.testing.assert_allclose(feats[0], expected.numpy(), rtol=1e-4,
                                   atol=1e-5)


class TestTestToolOut:
    """mmpretrain's tools/test.py --out with our MultiTestLoop."""

    def test_writes_the_predictions_of_every_test_set(self, checkpoint,
                                                      tmp_path, monkeypatch):
        out = tmp_path / 'preds.pkl'
        _run_tool(
            osp.join(MMPRETRAIN_TOOLS, 'test.py'), CONFIG, checkpoint,
            '--work-dir', tmp_path, '--out', out, '--cfg-options',
            'experiment_name=interop_vis_test_out', monkeypatch=monkeypatch)
        cfg = Config.fromfile(CONFIG)
        sizes = {}
        for name, overrides in cfg.test_cfg.test_sets.items():
            dataset = DATASETS.build(
                dict(cfg.test_dataloader.dataset, **overrides))
            sizes[name] = len(dataset)
        assert len(set(sizes.values())) == 3  # balanced, ib10, ib5 differ
        assert not out.exists()
        for name, size in sizes.items():
            preds = mmengine.load(str(tmp_path / f'preds_{name}.pkl'))
            assert len(preds) == size, name
            assert {'pred_score', 'gt_label'} <= set(preds[0])


@pytest.mark.skipif(
    importlib.util.find_spec('pytorch_grad_cam') is None,
    reason='the optional grad-cam package is not installed')
class TestVisCam:
    """mmpretrain's tools/visualization/vis_cam.py (grad-cam 1.4.8)."""

    def test_runs_on_our_model(self, checkpoint, tmp_path, monkeypatch):
        image = tmp_path / 'digit.png'
        cv2.imwrite(str(image), np.full((32, 32, 3), 128, np.uint8))
        # vis_cam.py reads an image file through the test pipeline; the
        # digits pipeline packs arrays, so a file loader goes first.
        config = tmp_path / 'from_file.py'
        config.write_text(
            f'_base_ = {CONFIG!r}\n'
            'test_dataloader = dict(dataset=dict(pipeline=[\n'
            "    dict(type='LoadImageFromFile'), dict(type='PackInputs')]))\n")
        out = tmp_path / 'cam.png'
        _run_tool(
            osp.join(MMPRETRAIN_TOOLS, 'visualization', 'vis_cam.py'), image,
            config, checkpoint, '--target-layers', 'backbone.branch1',
            'backbone.branch2', '--device', 'cpu', '--save-path', out,
            monkeypatch=monkeypatch)
        assert cv2.imread(str(out)).shape == (32, 32, 3)
