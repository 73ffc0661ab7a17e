"""The pipelines that set the paper's numbers beside ours (the large
benchmarks, CIFAR-100-LT at 200 epochs): what they train and report, and
the ImageNet-LT one end to end on a miniature tree (tests/lt_tree.py)."""
import json
import os.path as osp

import pytest
from lt_tree import (miniature_options, write_lt_tree,
                     write_pretrained_stand_ins)
from mmengine.config import Config
from pipeline_setup import run_pipeline

from conftest import ROOT
from xerm_mm.experiment import make_plan
from xerm_mm.utils.config import resolve_config_path

PIPELINES = osp.join(ROOT, 'configs', 'pipelines')
IMAGENET_LT = osp.join(PIPELINES, 'xerm_resnext50_1xb256-90e_imagenetlt.py')
METHODS = ['XE', 'PC', 'TDE', 'xERM-PC', 'xERM-TDE']
# pipeline: (its recipe, the paper's tables, a paper number)
SHIPPED = {
    IMAGENET_LT: ('resnext50_1xb256-90e_imagenetlt',
                  dict(balanced='Table 2', imbalanced='Table 5'),
                  ('xERM-TDE', 'ib5', 60.9)),
    osp.join(PIPELINES, 'xerm_resnet152_1xb128-30e_places365lt.py'):
    ('resnet152_1xb128-30e_places365lt',
     dict(balanced='Table 3', imbalanced=None), ('xERM-PC', 'balanced', 39.3)),
    osp.join(PIPELINES, 'xerm_resnet50_1xb256-30e_places365lt.py'):
    ('resnet50_1xb256-30e_places365lt',
     dict(balanced='Table 3', imbalanced=None), ('TDE', 'balanced', 37.2)),
    osp.join(PIPELINES, 'xerm_resnet50_1xb256-90e_inat2018.py'):
    ('resnet50_1xb256-90e_inat2018',
     dict(balanced='Table 3', imbalanced=None), ('PC', 'balanced', 66.2)),
    osp.join(PIPELINES, 'xerm_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py'):
    ('bbn-resnet32_1xb128-200e_cifar100lt-ib100',
     dict(balanced='Table 1', imbalanced='Table 4'),
     ('PC', 'balanced', 45.5)),
}


@pytest.mark.parametrize('path', sorted(SHIPPED))
def test_pipeline_trains_the_recipe_and_names_the_tables(
        path, tmp_path, monkeypatch):
    recipe, tables, (method, test_set, value) = SHIPPED[path]
    monkeypatch.chdir(tmp_path)  # (Places: ImageNet weights under it)
    write_pretrained_stand_ins(path)
    plan = make_plan(path, str(tmp_path / 'work'))
    # The CIFAR pipeline has the budget-matched XE (twice the epochs); the
    # large benchmarks leave it out (budget_matched = False).
    budget = 'cifar100lt' in path
    stages = plan.report['stages']
    assert list(stages) == ['xe', 'tde'] + ['xe_2x'] * budget + [
        'xerm_pc', 'xerm_tde']
    configs = {s.what: s.params['config'] for s in plan.steps
               if s.kind == 'train'}
    for name, config in configs.items():
        assert config.endswith(f'_{recipe}.py')
        epochs = Config.fromfile(resolve_config_path(
            config)).train_cfg.max_epochs * (2 if name == 'xe_2x' else 1)
        assert stages[name]['checkpoint'].endswith(f'epoch_{epochs}.pth')
    evaluated = list(plan.report['evaluations'])
    assert evaluated == METHODS + ['XE-2x', 'PC-2x'] * budget
    spec = plan.report['spec']
    assert spec['tables'] == tables
    assert spec['paper']['source'] == 'Zhu et al., AAAI 2022'
    assert spec['paper']['results'][method][test_set]['top1'] == value
    # The paper's test sets are those of the recipe's test config.
    sets = set(Config.fromfile(resolve_config_path(
        configs['xe'])).test_cfg.test_sets)
    for method_sets in spec['paper']['results'].values():
        assert set(method_sets) <= sets


@pytest.mark.slow
def test_imagenetlt_pipeline_end_to_end_on_a_miniature_tree(tmp_path):
    """tools/run_pipeline.py on the shipped ImageNet-LT pipeline: 4 classes
    (12 .. 2 training images), 1 epoch, 32-pixel crops."""
    data = write_lt_tree(str(tmp_path / 'imagenet'), 'imagenetlt',
                         train_counts=(12, 6, 3, 2), test_per_class=10)
    work = str(tmp_path / 'work')
    # Two steps at once: the teachers, then the students, then the tests.
    stdout = run_pipeline(IMAGENET_LT, '--work-dir', work, '--data-root',
                          data, '--jobs', '2', '--cfg-options',
                          *miniature_options(4))
    assert 'exit:' not in stdout, stdout[-5000:]
    report = json.load(open(osp.join(work, 'report.json')))
    assert list(report['table1']) == METHODS
    test_sets = Config.fromfile(resolve_config_path(
        'xerm_mm::xe/xe_resnext50_1xb256-90e_imagenetlt.py')).test_cfg.test_sets
    for method in METHODS:
        assert set(report['table4'][method]) == set(test_sets)
        assert 0 <= report['table1'][method]['top1'] <= 100
    assert {'balanced', 'ib50', 'ib5', 'ib50_bwd'} <= set(test_sets)
    balanced = report['results']['XE']['balanced']
    assert balanced['per_class_gt_count'] == [10] * 4
    # The miniature thresholds give every group: 12 many, 6 medium, 3 and
    # 2 few-shot training images.
    for group in ('many', 'medium', 'few'):
        assert 0 <= balanced[f'{group}_recall'] <= 100
    markdown = open(osp.join(work, 'report.md')).read()
    assert markdown.startswith('# xERM on ImageNet-LT')
    assert ('## Balanced test set: top-1 and per group recall / precision / '
            'F1 (Table 2)') in markdown
    assert ('## Top-1 on every test set (Table 5: imbalanced test sets)'
            in markdown)
    assert "The paper's numbers (Zhu et al., AAAI 2022, Table 2 and " \
        'Table 5), as published:' in markdown
    assert '| xERM-TDE | 54.1 | 67.7 | 66.0 | 63.5 | 60.9 |' in markdown
    # XE's head bias is judged on the forward imbalanced sets.
    assert report['backward_sets'] == ['ib50_bwd', 'ib25_bwd', 'ib10_bwd',
                                       'ib5_bwd']
    assert ('on the imbalanced test sets (ib50, ib25, ib10 and ib5) it '
            'averages') in markdown
    # The students learnt from the teacher stages, through teacher configs
    # of 4 classes (the overrides reach them).
    for student, teacher in (('xerm_pc', 'xe'), ('xerm_tde', 'tde')):
        log = open(osp.join(work, student, 'pipeline.log')).read()
        assert (f'teacher loaded from {osp.join(work, teacher, "epoch_1.pth")}'
                in log)
        assert osp.join(work, student, 'teacher_config.py') in log, log[-3000:]
    # The same command again: every step is up to date.
    checkpoints = {n: osp.getmtime(osp.join(work, n, 'epoch_1.pth'))
                   for n in ('xe', 'tde', 'xerm_pc', 'xerm_tde')}
    again = run_pipeline(IMAGENET_LT, '--work-dir', work, '--data-root', data,
                         '--cfg-options', *miniature_options(4))
    assert 'exit:' not in again and '| xERM-TDE |' in again
    assert checkpoints == {n: osp.getmtime(osp.join(work, n, 'epoch_1.pth'))
                           for n in checkpoints}


@pytest.mark.parametrize('recipe', [
    'xe/xe_resnext50_1xb256-90e_imagenetlt.py',
    'xerm/xerm-tde_resnet152_1xb128-30e_places365lt.py',
    'pc/pc_resnet50_1xb256-90e_inat2018.py'])
def test_miniature_options_shrink_every_large_recipe(recipe):
    """tests/lt_tree.py's overrides hit the crops they mean to."""
    from mmengine.config import Config

    from xerm_mm.experiment.options import parse_options
    cfg = Config.fromfile(osp.join(ROOT, 'configs', recipe))
    cfg.merge_from_dict(parse_options(miniature_options(3)))
    train = cfg.train_dataloader.dataset.pipeline[1]
    assert (train.type, train.scale) == ('RandomResizedCrop', 32)
    for loader in ('val_dataloader', 'test_dataloader'):
        resize, crop = cfg[loader].dataset.pipeline[1:3]
        assert (resize.type, resize.scale) == ('ResizeEdge', 36)
        assert (crop.type, crop.crop_size) == ('CenterCrop', 32)
        assert cfg[loader].dataset.num_classes == 3
    assert cfg.model.head.num_classes == 3
    assert (cfg.model.backbone.num_stages, cfg.model.head.in_channels) == (
        1, 256)
    assert (cfg.test_evaluator.many_thr, cfg.test_evaluator.few_thr) == (
        10, 4)
