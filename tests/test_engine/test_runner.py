"""xerm_mm.engine.runner: the config the runner holds."""
import copy
import pickle
from unittest import TestCase, mock

from mmengine.config import Config
from yapf.yapflib.yapf_api import FormatCode

from xerm_mm.engine.runner import FormattedOnceConfig


class TestFormattedOnceConfig(TestCase):

    def setUp(self):
        self.plain = Config(
            dict(model=dict(type='ImageClassifier', head=dict(num_classes=10)),
                 train_cfg=dict(max_epochs=2)))
        self.cfg = FormattedOnceConfig.__new__(FormattedOnceConfig)
        self.cfg.__dict__.update(copy.deepcopy(self.plain).__dict__)

    def test_formats_once_per_content(self):
        with mock.patch('mmengine.config.config.FormatCode',
                        wraps=FormatCode) as format_code:
            text = self.cfg.pretty_text
            self.assertEqual(self.cfg.pretty_text, text)
            self.assertEqual(format_code.call_count, 1)
            self.assertEqual(text, self.plain.pretty_text)
            self.cfg.train_cfg.max_epochs = 3
            self.assertIn('max_epochs=3', self.cfg.pretty_text)
            self.assertEqual(format_code.call_count, 3)  # + self.plain's

    def test_copies_and_pickles_keep_the_class(self):
        for other in (copy.deepcopy(self.cfg), copy.copy(self.cfg),
                      pickle.loads(pickle.dumps(self.cfg))):
            self.assertIsInstance(other, FormattedOnceConfig)
            self.assertEqual(other.pretty_text, self.plain.pretty_text)
