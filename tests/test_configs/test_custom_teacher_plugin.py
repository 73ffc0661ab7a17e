"""docs/add_balanced_teacher.md, run as written: a balanced teacher from a
user's own package (registry child, custom_imports) under xERM.

The package and configs are the code blocks of the page whose first line
names their file (``# my_lt/models.py``); they are written into tmp_path.
"""
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from xerm_mm.models.losses import xerm_loss
from xerm_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'add_balanced_teacher.md')
RECIPE = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'

pytestmark = pytest.mark.usefixtures('one_thread', 'xerm_scope')


def doc_files():
    """``{relative path: text}`` of the page's named code blocks."""
    with open(DOC) as f:
        text = f.read()
    blocks = re.findall(r'```python\n# (\S+\.py)\n(.*?)```', text, re.S)
    return {path: body for path, body in blocks}


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    files = doc_files()
    assert set(files) == {
        'my_lt/registry.py', 'my_lt/models.py', 'my_lt/__init__.py',
        f'my_configs/nobias_{RECIPE}.py', f'my_configs/xerm-nobias_{RECIPE}.py'
    }
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.split('.')[0] == 'my_lt']:
        sys.modules.pop(name)
    # Forget the package's registry: another test may define it again.
    MODELS._children.pop('my_lt', None)


def _batch(n=8):
    g = torch.Generator().manual_seed(0)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
            for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i * 12) for i in range(n)])


def test_the_documented_teacher_trains_an_xerm_student(plugin):
    teacher_cfg = Config.fromfile(
        str(plugin / f'my_configs/nobias_{RECIPE}.py'))
    torch.manual_seed(0)
    teacher = MODELS.build(teacher_cfg.model)
    assert type(teacher.head).__name__ == 'NoBiasViewHead'
    assert MODELS.get('my_lt.NoBiasViewHead') is type(teacher.head)
    teacher.init_weights()
    with torch.no_grad():
        teacher.head.fc.bias.normal_()  # a bias for the views to differ by
    ckpt = str(plugin / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)

    cfg = Config.fromfile(str(plugin / f'my_configs/xerm-nobias_{RECIPE}.py'))
    # The documented default is the teacher's training work dir.
    assert cfg.model.teacher.checkpoint == (
        f'work_dirs/nobias_{RECIPE}/epoch_12.pth')
    cfg.model.teacher.checkpoint = ckpt
    student = MODELS.build(cfg.model)
    student.init_weights()
    student.load_teachers()

    data = student.data_preprocessor(_batch(), True)
    labels = torch.tensor([s.gt_label.item() for s in data['data_samples']])
    teacher.eval()
    with torch.no_grad():
        x = teacher.extract_feat(data['inputs'])[-1]
        no_bias = x @ teacher.head.fc.weight.t()
    views = student.teachers['teacher'].head.views((x, ))
    torch.testing.assert_close(views['balanced'], no_bias)
    torch.testing.assert_close(views['imbalanced'],
                               no_bias + teacher.head.fc.bias)
    expected = xerm_loss(student.head(student.extract_feat(data['inputs'])),
                         labels, no_bias + teacher.head.fc.bias,
                         no_bias).loss.mean()
    losses = student.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(losses['loss'], expected)

    optim = build_optim_wrapper(student, cfg.optim_wrapper)
    before = student.head.fc.weight.detach().clone()
    assert torch.isfinite(student.train_step(_batch(), optim)['loss'])
    assert not torch.equal(before, student.head.fc.weight)
