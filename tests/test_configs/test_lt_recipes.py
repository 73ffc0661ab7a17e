"""The large-benchmark recipes: ImageNet-LT, Places365-LT, iNaturalist 2018.

Parametrized over every recipe file (the five methods on each dataset and
backbone): each resolves to its paper setting (docs/configs.md), its
model builds and runs on a tiny input, the Places365-LT param-wise learning
rates reach the optimizer, and one real training epoch of each method family
(XE, TDE, xERM-PC from a teacher checkpoint trained here) runs through the
runner on a generated Places-LT list tree with tiny images. A missing
ImageNet-pretrained file stops training before the data is read.
"""
import glob
import os.path as osp
import re

import pytest
import torch
from lt_tree import write_lt_tree
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import xerm_mm  # noqa: F401  (registers the scoped types)
from xerm_mm.experiment import make_plan
from xerm_mm.experiment.checks import ExperimentError
from xerm_mm.registry import MODELS, RUNNERS
from xerm_mm.utils.pretrained_checks import (check_pretrained_files,
                                             pretrained_checkpoints)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('xe', 'pc', 'tde', 'xerm-pc', 'xerm-tde')
FOLDER = {'xe': 'xe', 'pc': 'pc', 'tde': 'tde', 'xerm-pc': 'xerm',
          'xerm-tde': 'xerm'}
IMBALANCED_SETS = ['balanced'] + [
    f'ib{ib}{suffix}' for suffix in ('', '_bwd') for ib in (50, 25, 10, 5)]
PLACES = dict(
    dataset='Places365LT', num_classes=365, epochs=30, lr=0.01,
    tde_lr=0.01, weight_decay=5e-4, head_lr_mult=10., jitter=True,
    scheduler='StepLR', alpha=2.0, gamma=5.0, test_sets=IMBALANCED_SETS)
# The paper setting of each recipe (docs/configs.md, docs/methods.md).
RECIPES = {
    'resnext50_1xb256-90e_imagenetlt': dict(
        dataset='ImageNetLT', num_classes=1000, backbone=('ResNeXt', 50),
        batch=256, epochs=90, lr=0.05, tde_lr=0.1, weight_decay=5e-4,
        head_lr_mult=None, jitter=True, scheduler='CosineAnnealingLR',
        alpha=3.0, gamma=1.5, pretrained=None, test_sets=IMBALANCED_SETS),
    'resnet152_1xb128-30e_places365lt': dict(
        PLACES, backbone=('ResNet', 152), batch=128,
        pretrained='resnet152_8xb32_in1k_20210901-4d7582fa.pth'),
    'resnet50_1xb256-30e_places365lt': dict(
        PLACES, backbone=('ResNet', 50), batch=256,
        pretrained='resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
    'resnet50_1xb256-90e_inat2018': dict(
        dataset='INaturalist2018', num_classes=8142, backbone=('ResNet', 50),
        batch=256, epochs=90, lr=0.1, tde_lr=0.1, weight_decay=1e-4,
        head_lr_mult=None, jitter=False, scheduler='CosineAnnealingLR',
        alpha=3.0, gamma=1.5, pretrained=None, test_sets=['balanced']),
}
CONFIGS = [(method, recipe) for recipe in RECIPES for method in METHODS]
IDS = [f'{method}_{recipe}' for method, recipe in CONFIGS]
# Building the larger networks (ResNeXt-50, ResNet-152; an xERM model
# builds its teacher too) takes seconds each on a CPU: those are slow; the
# ResNet-50 ones (the same heads and classifiers) run always.
BUILDS = [
    pytest.param(method, recipe, id=f'{method}_{recipe}',
                 marks=() if recipe.startswith('resnet50_') else
                 pytest.mark.slow) for method, recipe in CONFIGS
]


def _path(method, recipe):
    return osp.join(ROOT, 'configs', FOLDER[method],
                    f'{method}_{recipe}.py')


def _type(cfg):
    return cfg['type'].split('.')[-1]


def test_every_large_recipe_is_tested():
    on_disk = {
        path for dataset in ('imagenetlt', 'places365lt', 'inat2018')
        for path in glob.glob(
            osp.join(ROOT, 'configs', '*', f'*_{dataset}.py'))
        if osp.basename(osp.dirname(path)) != 'pipelines'  # (ltpipe's)
    }
    assert on_disk == {_path(method, recipe) for method, recipe in CONFIGS}


def _check_head(method, head, paper):
    assert head.num_classes == paper['num_classes']
    assert head.in_channels == 2048
    expected = {'xe': 'LinearClsHead', 'pc': 'PCHead', 'tde': 'TDEHead',
                'xerm-pc': 'LinearClsHead', 'xerm-tde': 'TDEHead'}[method]
    assert _type(head) == expected
    if expected == 'TDEHead':
        assert (head.num_heads, head.tau, head.gamma) == (2, 16.0, 1. / 32)
        assert head.alpha == paper['alpha']
        assert head.lr_dependent_momentum is True
        assert head.predict_view == ('imbalanced' if method == 'xerm-tde'
                                     else 'balanced')
    if method.startswith('xerm'):
        assert head.loss == dict(type='xerm_mm.XERMLoss',
                                 gamma=paper['gamma'])
    else:
        assert _type(head.loss) == 'CrossEntropyLoss'


def _check_teacher(method, recipe, cfg):
    model = cfg.model
    if not method.startswith('xerm'):
        assert _type(model) == 'ImageClassifier'
        assert 'teacher' not in model
        return
    assert _type(model) == 'XERMClassifier'
    assert model.init_student_from_teacher == (method == 'xerm-pc')
    # The teacher: the same recipe's PC / TDE config on the last checkpoint
    # of its XE / TDE run.
    view, run = ('pc', 'xe') if method == 'xerm-pc' else ('tde', 'tde')
    assert model.teacher == dict(
        config=f'xerm_mm::{view}/{view}_{recipe}.py',
        checkpoint=(f'work_dirs/{run}_{recipe}/epoch_'
                    f'{cfg.train_cfg.max_epochs}.pth'))
    hooks = [_type(hook) for hook in cfg.custom_hooks]
    assert 'XERMTeacherHook' in hooks


@pytest.mark.parametrize('method,recipe', CONFIGS, ids=IDS)
def test_recipe_resolves_to_its_paper_setting(method, recipe):
    cfg = Config.fromfile(_path(method, recipe))
    paper = RECIPES[recipe]
    # The name: {backbone}_1xb{batch}-{epochs}e_{dataset}.
    batch, epochs = re.fullmatch(r'[\w-]+_1xb(\d+)-(\d+)e_\w+',
                                 recipe).groups()
    assert (int(batch), int(epochs)) == (paper['batch'], paper['epochs'])
    # Data: the dataset, the batch (= the total batch auto_scale_lr states)
    # and the test sets.
    dataset = cfg.train_dataloader.dataset
    assert _type(dataset) == paper['dataset']
    assert cfg.train_dataloader.batch_size == paper['batch']
    assert cfg.auto_scale_lr.base_batch_size == paper['batch']
    assert cfg.data_preprocessor.num_classes == paper['num_classes']
    jitter = [t for t in dataset.pipeline if t.type == 'ColorJitter']
    assert jitter == ([dict(type='ColorJitter', brightness=0.4,
                            contrast=0.4, saturation=0.4, hue=0.)]
                      if paper['jitter'] else [])
    assert list(cfg.test_cfg.test_sets) == paper['test_sets']
    # Schedule.
    tde_family = method in ('tde', 'xerm-tde')
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'SGD' and optimizer.momentum == 0.9
    assert optimizer.lr == paper['tde_lr' if tde_family else 'lr']
    assert optimizer.weight_decay == paper['weight_decay']
    assert cfg.train_cfg.max_epochs == paper['epochs']
    assert [s.type for s in cfg.param_scheduler] == [paper['scheduler']]
    paramwise = cfg.optim_wrapper.get('paramwise_cfg')
    if paper['head_lr_mult'] is None:
        assert paramwise is None
    else:
        assert paramwise == dict(
            custom_keys={'head': dict(lr_mult=paper['head_lr_mult'])})
    # Model.
    backbone = cfg.model.backbone
    assert (_type(backbone), backbone.depth) == paper['backbone']
    init = backbone.get('init_cfg')
    if paper['pretrained'] is None or method == 'xerm-pc':
        # xERM-PC students start from their teacher's weights.
        assert init is None
    else:
        assert init.type == 'Pretrained' and init.prefix == 'backbone.'
        assert osp.basename(init.checkpoint) == paper['pretrained']
    _check_head(method, cfg.model.head, paper)
    _check_teacher(method, recipe, cfg)


def test_imagenetlt_tde_scales_to_the_authors_batch():
    """2 x 256 with --auto-scale-lr: the authors' batch 512 and lr 0.2."""
    cfg = Config.fromfile(_path('tde', 'resnext50_1xb256-90e_imagenetlt'))
    scaled = (cfg.optim_wrapper.optimizer.lr * 2 *
              cfg.train_dataloader.batch_size /
              cfg.auto_scale_lr.base_batch_size)
    assert scaled == pytest.approx(0.2)


def _build(cfg):
    model_cfg = cfg.model.copy()
    model_cfg.data_preprocessor = cfg.data_preprocessor
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('method,recipe', BUILDS)
def test_model_builds_and_forwards(method, recipe):
    cfg = Config.fromfile(_path(method, recipe))
    model = _build(cfg).eval()
    with torch.no_grad():
        scores = model(torch.rand(2, 3, 64, 64), mode='tensor')
    assert scores.shape == (2, RECIPES[recipe]['num_classes'])
    assert torch.isfinite(scores).all()


def _lrs_by_part(model, optim_wrapper):
    lrs = {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[id(param)] = group['lr']
    parts = {}
    for name, param in model.named_parameters():
        parts.setdefault(name.split('.')[0], set()).add(
            round(lrs[id(param)], 6))
    return parts


@pytest.mark.parametrize('method', ['xe', 'xerm-tde'])
def test_places_param_groups_get_the_recipe_lrs(method):
    """Backbone 0.01, classifier 0.1 in the optimizer that MMEngine builds;
    TDEMomentumHook takes the classifier's lr (mu = 0.9 at lr 0.1)."""
    cfg = Config.fromfile(_path(method, 'resnet50_1xb256-30e_places365lt'))
    model = _build(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    parts = _lrs_by_part(model, optim_wrapper)
    assert parts.pop('backbone') == {0.01}
    assert parts.pop('head') == {0.1}
    assert not parts  # GAP neck: no parameters; teachers: not trained

    from xerm_mm.engine.hooks.tde_momentum_hook import _lr_of
    if method == 'xerm-tde':
        lr = _lr_of(model.head, optim_wrapper.optimizer.param_groups, 0.)
        assert lr == pytest.approx(0.1)
        assert model.head.set_momentum_from_lr(lr) == pytest.approx(0.9)


# --- training through the runner on a miniature Places-LT --------------

TRAIN_COUNTS = (6, 3, 2)
TEST_PER_CLASS = 3
TINY = """
_base_ = 'xerm_mm::{folder}/{method}_resnet50_1xb256-30e_places365lt.py'
_train = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
_test = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
_loader = dict(batch_size=11, num_workers=0, persistent_workers=False)
train_dataloader = dict(_loader, dataset=dict(
    data_root={root!r}, num_classes=3, pipeline=_train))
val_dataloader = dict(_loader, dataset=dict(
    data_root={root!r}, num_classes=3, pipeline=_test))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=3){extra_model})
data_preprocessor = dict(num_classes=3)
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
"""


@pytest.fixture(scope='module')
def places_tree(tmp_path_factory):
    """Places_LT_{train,test}.txt over small JPEGs (3 classes, 6 / 3 / 2)."""
    return write_lt_tree(str(tmp_path_factory.mktemp('places')),
                         'places365lt', TRAIN_COUNTS,
                         test_per_class=TEST_PER_CLASS)


@pytest.fixture(scope='module')
def pretrained_file(tmp_path_factory):
    """ImageNet-style weights of the Places ResNet-50 backbone, as
    mmpretrain's checkpoints hold them (``backbone.`` keys)."""
    cfg = Config.fromfile(_path('xe', 'resnet50_1xb256-30e_places365lt'))
    torch.manual_seed(1)
    backbone = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    path = str(tmp_path_factory.mktemp('checkpoints') / 'in1k.pth')
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    torch.save(dict(state_dict=state), path)
    return path, backbone.conv1.weight.detach().clone()


def _tiny_config(folder, method, root, extra_model=''):
    path = osp.join(folder, f'tiny_{method}.py')
    with open(path, 'w') as f:
        f.write(TINY.format(folder=FOLDER[method], method=method, root=root,
                            extra_model=extra_model))
    return path


def _train(config, work_dir):
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner


def _pretrained(path):
    return f", backbone=dict(init_cfg=dict(checkpoint={path!r}))"


@pytest.mark.slow
def test_xe_then_xerm_pc_train_through_the_runner(places_tree,
                                                  pretrained_file, tmp_path):
    """XE from the (local) ImageNet weights, then xERM-PC from its PC
    teacher: the XE checkpoint of this run."""
    path, conv1 = pretrained_file
    folder = str(tmp_path)
    xe = _train(_tiny_config(folder, 'xe', places_tree, _pretrained(path)),
                osp.join(folder, 'xe'))
    # Initialised from the file (MMEngine's PretrainedInit logs it), then
    # trained.
    log, = glob.glob(osp.join(folder, 'xe', '*', '*.log'))
    with open(log) as f:
        assert f'load backbone. in model from: {path}' in f.read()
    assert not torch.equal(xe.model.backbone.conv1.weight.detach(), conv1)
    teacher_ckpt = osp.join(folder, 'xe', 'epoch_1.pth')
    assert osp.isfile(teacher_ckpt)
    pc = _tiny_config(folder, 'pc', places_tree)
    teacher = f', teacher=dict(config={pc!r}, checkpoint={teacher_ckpt!r})'
    student = _train(_tiny_config(folder, 'xerm-pc', places_tree, teacher),
                     osp.join(folder, 'xerm_pc'))
    assert student.model.teachers_loaded
    assert osp.isfile(osp.join(folder, 'xerm_pc', 'epoch_1.pth'))
    weights = student.message_hub.get_scalar('train/w_ba').current()
    assert 0 < weights < 1


@pytest.mark.slow
def test_tde_trains_through_the_runner(places_tree, pretrained_file,
                                       tmp_path):
    path, _ = pretrained_file
    runner = _train(
        _tiny_config(str(tmp_path), 'tde', places_tree, _pretrained(path)),
        str(tmp_path / 'tde'))
    head = runner.model.head
    # TDEMomentumHook set mu from the classifier's lr 0.1 (the backbone's
    # 0.01 would give 0.95); the moving average was updated.
    assert head.momentum == pytest.approx(0.9)
    assert head.num_updates == 1
    assert osp.isfile(str(tmp_path / 'tde' / 'epoch_1.pth'))


# --- the ImageNet-pretrained file --------------------------------------

def test_missing_pretrained_file_stops_training_before_the_data(tmp_path):
    """No data either: the file is checked before any dataset is built."""
    config = _tiny_config(str(tmp_path), 'tde', str(tmp_path / 'no_data'))
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    runner = RUNNERS.build(cfg)
    key = 'model.backbone.init_cfg.checkpoint'
    with pytest.raises(FileNotFoundError) as error:
        runner.train()
    message = str(error.value)
    assert key in message and f'--cfg-options {key}=' in message
    assert 'resnet50_8xb32_in1k_20210831-ea4938fc.pth' in message
    # mmpretrain's model zoo file of that name, as a download command.
    assert ('wget -P checkpoints https://download.openmmlab.com/'
            'mmclassification/v0/resnet/'
            'resnet50_8xb32_in1k_20210831-ea4938fc.pth') in message


def test_pretrained_urls_and_teachers_are_left_alone(tmp_path):
    url = 'https://download.openmmlab.com/x/resnet152.pth'
    model = dict(
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=url)),
        head=dict(init_cfg=[dict(type='Normal', std=0.01)]),
        teacher=dict(config=dict(backbone=dict(init_cfg=dict(
            type='Pretrained', checkpoint='missing.pth')))))
    assert pretrained_checkpoints(model) == [
        ('model.backbone.init_cfg.checkpoint', url)]
    check_pretrained_files(model)  # nothing is downloaded or read
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    model['backbone']['init_cfg']['checkpoint'] = str(empty)
    with pytest.raises(RuntimeError, match='empty'):
        check_pretrained_files(model)


def test_pipeline_checks_every_stage_for_its_pretrained_file(tmp_path):
    pipeline = tmp_path / 'places_pipeline.py'
    pipeline.write_text(
        "stages = [dict(name='tde', config="
        "'xerm_mm::tde/tde_resnet152_1xb128-30e_places365lt.py')]\n")
    with pytest.raises(ExperimentError,
                       match='resnet152_8xb32_in1k_20210901-4d7582fa.pth'):
        make_plan(str(pipeline), str(tmp_path / 'work'))
