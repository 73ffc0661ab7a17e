import os.path as osp
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmpretrain import registry as mmpretrain_registry

import xerm_mm
from xerm_mm import registry
from xerm_mm.utils import register_all_modules

REGISTRY_NAMES = registry.__all__


@pytest.fixture(autouse=True, scope='module')
def _registered():
    register_all_modules()


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_registry_is_child_of_mmpretrain(name):
    ours = getattr(registry, name)
    assert ours.scope == 'xerm_mm'
    # RUNNERS and FUNCTIONS hang from MMEngine's roots, where MMEngine's
    # Runner looks (mmpretrain has no FUNCTIONS).
    parent = dict(RUNNERS=MMENGINE_RUNNERS,
                  FUNCTIONS=MMENGINE_FUNCTIONS).get(name) or getattr(
                      mmpretrain_registry, name)
    assert ours.parent is parent
    assert ours._locations[0].startswith('xerm_mm.')
    assert set(parent._locations) <= set(ours._locations)


@pytest.mark.parametrize('registry_name, type_name', [
    ('MODELS', 'BBNResNet32'),
    ('MODELS', 'XERMClassifier'),
    ('DATASETS', 'DigitsLT'),
    ('METRICS', 'LongTailMetric'),
    ('LOOPS', 'MultiTestLoop'),
    ('HOOKS', 'XERMTeacherHook'),
])
def test_scoped_names_resolve_from_mmpretrain(registry_name, type_name):
    """mmpretrain's get_model and tools build under the mmpretrain scope."""
    found = getattr(mmpretrain_registry, registry_name).get(
        f'xerm_mm.{type_name}')
    assert found is getattr(registry, registry_name).get(type_name)
    assert found.__module__.startswith('xerm_mm.')


def test_runner_type_resolves_from_mmengine_root():
    """MMEngine's RUNNERS.build(cfg), as mmpretrain's train.py calls it."""
    with DefaultScope.overwrite_default_scope(None):
        runner_cls = MMENGINE_RUNNERS.get('xerm_mm.XERMRunner')
    assert runner_cls is registry.RUNNERS.get('XERMRunner')


@pytest.mark.parametrize('registry_name, type_name, owner', [
    ('MODELS', 'ImageClassifier', 'mmpretrain'),
    ('MODELS', 'LinearClsHead', 'mmpretrain'),
    ('MODELS', 'CrossEntropyLoss', 'mmpretrain'),
    ('MODELS', 'GlobalAveragePooling', 'mmpretrain'),
    ('MODELS', 'ResNet32', 'xerm_mm'),
    ('MODELS', 'BBNResNet32', 'xerm_mm'),
    ('TRANSFORMS', 'PackInputs', 'mmpretrain'),
    ('TRANSFORMS', 'RandomCrop', 'mmpretrain'),
    ('DATASETS', 'CIFAR100LT', 'xerm_mm'),
    ('DATASETS', 'DigitsLT', 'xerm_mm'),
    ('METRICS', 'LongTailMetric', 'xerm_mm'),
    ('METRICS', 'Accuracy', 'mmpretrain'),
    ('LOOPS', 'MultiTestLoop', 'xerm_mm'),
    ('RUNNERS', 'XERMRunner', 'xerm_mm'),
    ('HOOKS', 'CheckpointHook', 'mmengine'),
])
def test_plain_type_names_resolve(registry_name, type_name, owner):
    cls = getattr(registry, registry_name).get(type_name)
    assert cls is not None, f'{type_name} not found from xerm_mm'
    assert cls.__module__.split('.')[0] == owner


def test_default_scope_builds_through_mmengine_root():
    """The Runner builds from MMEngine's root registry + default scope."""
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet32'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=7,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss')))
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        model = MMENGINE_MODELS.build(cfg)
    assert type(model.backbone).__name__ == 'ResNet32'
    assert model.head.num_classes == 7


def test_user_module_joins_through_custom_imports(tmp_path, monkeypatch):
    (tmp_path / 'my_lt_head.py').write_text(
        textwrap.dedent("""
        from mmpretrain.models import LinearClsHead
        from xerm_mm.registry import MODELS

        @MODELS.register_module()
        class MyScaledHead(LinearClsHead):
            pass
        """))
    (tmp_path / 'my_config.py').write_text(
        textwrap.dedent("""
        _base_ = 'xerm_mm::_base_/models/resnet32_linear.py'
        custom_imports = dict(imports=['my_lt_head'],
                              allow_failed_imports=False)
        model = dict(head=dict(type='MyScaledHead', num_classes=5))
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / 'my_config.py'))
    model = registry.MODELS.build(cfg.model)
    assert type(model.head).__name__ == 'MyScaledHead'
    assert model.head.num_classes == 5
    sys.modules.pop('my_lt_head', None)


def test_package_configs_reachable_with_scope_prefix(tmp_path):
    (tmp_path / 'child.py').write_text(
        "_base_ = 'xerm_mm::xe/xe_bbn-resnet32_1xb128-200e_cifar100lt-ib50.py'"
        '\n')
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    assert cfg.default_scope == 'xerm_mm'
    assert cfg.train_dataloader.dataset.imbalance_ratio == 50
    assert cfg.model.backbone.type == 'xerm_mm.BBNResNet32'


def test_configs_in_package_point_at_repo_configs():
    mim = osp.join(osp.dirname(xerm_mm.__file__), '.mim', 'configs')
    assert osp.isfile(osp.join(mim, '_base_', 'default_runtime.py'))


def test_prefix_recipe_of_the_docs_works_without_importing_xerm_mm(tmp_path):
    """The recipe of xerm_mm/__init__.py, in a process that never imports
    xerm_mm itself: plain Config.fromfile, as mmpretrain's tools call it."""
    (tmp_path / 'xerm_mm_prefix.py').write_text("__import__('xerm_mm')\n")
    base = "'xerm_mm::xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py'"
    (tmp_path / 'my_xe.py').write_text(
        f"_base_ = ['./xerm_mm_prefix.py', {base}]\n"
        'train_cfg = dict(max_epochs=3)\n')
    (tmp_path / 'no_recipe.py').write_text(f'_base_ = {base}\n')
    script = textwrap.dedent("""
        import sys
        from mmengine.config import Config
        assert 'xerm_mm' not in sys.modules
        cfg = Config.fromfile(sys.argv[1])
        print(cfg.model.backbone.type, cfg.train_cfg.max_epochs)
        """)
    run = [sys.executable, '-c', script]
    proc = subprocess.run(run + [str(tmp_path / 'my_xe.py')],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['xerm_mm.BBNResNet32', '3']
    # Without it, MMEngine does not know the prefix (why the recipe exists).
    proc = subprocess.run(run + [str(tmp_path / 'no_recipe.py')],
                          capture_output=True, text=True, timeout=120)
    assert 'does not support to load xerm_mm config' in proc.stderr
