"""xerm_mm.engine.DeferredFigureVisualizer: the recipes' visualizer."""
import os.path as osp
import tempfile
from unittest import TestCase

import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample
from mmpretrain.visualization import UniversalVisualizer

from conftest import ROOT
from xerm_mm.engine import DeferredFigureVisualizer
from xerm_mm.registry import VISUALIZERS
from xerm_mm.utils import register_all_modules

RECIPE = osp.join(ROOT, 'configs/xe/xe_bbn-resnet32_1xb128-12e_'
                  'cifar100lt-ib100.py')


class TestDeferredFigureVisualizer(TestCase):

    @classmethod
    def setUpClass(cls):
        register_all_modules(init_default_scope=False)
        cls.cfg = Config.fromfile(RECIPE).visualizer

    def _sample(self):
        return DataSample().set_gt_label(1).set_pred_label(2).set_pred_score(
            torch.linspace(0, 1, 5))

    def test_the_recipes_build_it_and_logging_makes_no_figure(self):
        folder = self.enterContext(tempfile.TemporaryDirectory())
        visualizer = VISUALIZERS.build(
            dict(self.cfg, name=self.id(), save_dir=folder))
        self.assertIsInstance(visualizer, DeferredFigureVisualizer)
        visualizer.add_scalars({'loss': 1.0}, step=1)
        self.assertTrue(osp.isfile(osp.join(folder, 'vis_data',
                                            'scalars.json')))
        made = vars(visualizer)
        for name in ('fig_save_canvas', 'fig_save', 'ax_save', 'dpi'):
            self.assertIsNone(made.get(name), name)

    def test_draws_what_universal_visualizer_draws(self):
        image = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
        classes = list('abcde')
        deferred = DeferredFigureVisualizer(name=self.id())
        drawn = deferred.visualize_cls(image, self._sample(), classes=classes)
        plain = UniversalVisualizer(name=self.id() + '-plain')
        np.testing.assert_array_equal(
            drawn, plain.visualize_cls(image, self._sample(), classes=classes))
        self.assertEqual(deferred.dpi, plain.dpi)
        # Made once: the same axes on the next drawing.
        axes = deferred.ax_save
        deferred.visualize_cls(image, self._sample(), classes=classes)
        self.assertIs(deferred.ax_save, axes)

    def test_an_image_given_at_build_is_set(self):
        image = np.full((20, 30, 3), 7, dtype=np.uint8)
        visualizer = DeferredFigureVisualizer(name=self.id(), image=image)
        np.testing.assert_array_equal(visualizer.get_image(), image)
