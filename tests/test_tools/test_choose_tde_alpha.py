"""tools/analysis_tools/choose_tde_alpha.py on a tiny TDE DigitsLT model
(one epoch, in this process; see trained_digits.py)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import ROOT
from inprocess_tool import load_tool, run_main
from lt_tree import miniature_options, write_lt_tree
from trained_digits import CONFIGS, trained_checkpoint
from xerm_mm.analysis.features import extract_features, preprocess
from xerm_mm.analysis.trained_model import (build_test_dataset, load_config,
                                            load_model)
from xerm_mm.experiment.options import parse_options
from xerm_mm.registry import DATASETS
from xerm_mm.report import split_by_test_set
from xerm_mm.utils import register_all_modules

pytestmark = pytest.mark.usefixtures('one_thread')

TDE = CONFIGS['TDE']
XE = CONFIGS['XE']
TOOL = 'analysis_tools/choose_tde_alpha'
#: The tool's functions (``choose_on_split``, ``training_dataset_cfg``, ...).
tool = load_tool(TOOL)
SETS = ('--test-sets', 'balanced', 'ib100')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """TDE trained one epoch on DigitsLT IB 100 (19 steps of batch 16)."""
    return trained_checkpoint('TDE', tmp_path_factory)


@pytest.fixture(scope='module')
def model(checkpoint):
    """The trained model, loaded as the tools load it (eval mode)."""
    register_all_modules(init_default_scope=False)
    return load_model(load_config(TDE), checkpoint)


def _head_inputs(model, dataset):
    """The features the head receives in ``model(..., mode='predict')``
    (a forward hook on the neck), and the labels: another path than the
    tool's."""
    seen = []
    last = model.neck if model.with_neck else model.backbone
    handle = last.register_forward_hook(lambda module, args, out: seen.append(
        out[-1].detach().flatten(1).clone()))
    labels = []
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), 64):
                inputs, samples = preprocess(
                    model, dataset, range(start, min(start + 64,
                                                     len(dataset))))
                model(inputs, samples, mode='predict')
                labels += [int(s.gt_label[0]) for s in samples]
    finally:
        handle.remove()
    return torch.cat(seen).numpy(), np.asarray(labels)


def test_mean_cos_rule_against_an_independent_computation(
        checkpoint, model, tmp_path):
    report, out = run_main(TOOL, TDE, checkpoint, '--work-dir', tmp_path,
                           *SETS)
    choice = report['choice']
    assert choice['method'] == 'mean_cos'  # DigitsLT: no validation split
    cfg = load_config(TDE)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        train = DATASETS.build(tool.training_dataset_cfg(cfg))
    assert choice['images'] == len(train) > 100
    feats, _ = _head_inputs(model, train)
    k = model.head.num_heads
    m = model.head.moving_avg.numpy().reshape(k, -1)
    x = feats.reshape(len(feats), k, -1)
    cos = (x * m).sum(-1) / (np.linalg.norm(x, axis=-1) *
                             np.linalg.norm(m, axis=-1))
    assert choice['mean_cos_per_head'] == pytest.approx(cos.mean(0), rel=1e-4)
    assert choice['alpha'] == pytest.approx(1 / cos.mean(), rel=1e-4)
    assert choice['fixed_alpha'] == 1.5
    # Both alphas through tools/test.py; the fixed one is test.py's default.
    fixed, chosen = report['results']['fixed'], report['results']['chosen']
    assert chosen['alpha'] == choice['alpha']
    assert chosen['test_command'][-1] == (
        f"model.head.alpha={choice['alpha']!r}")
    assert set(fixed['top1']) == set(chosen['top1']) == {'balanced', 'ib100'}
    plain, _ = run_main('test', TDE, checkpoint, '--work-dir',
                        tmp_path / 'plain', *SETS)
    assert fixed['top1'] == pytest.approx({
        k: v['top1']
        for k, v in split_by_test_set(plain).items()
    })
    assert osp.isfile(tmp_path / 'tde_alpha.json')
    assert '| chosen (alpha=' in out and 'chosen alpha' in out
    # The choice as --cfg-options (what a pipeline's post-hoc stage reads).
    assert report['cfg_options'] == {'model.head.alpha': choice['alpha']}


def test_out_alone_puts_the_tests_beside_it(checkpoint, tmp_path):
    out = tmp_path / 'stage' / 'choice.json'
    report, _ = run_main(TOOL, TDE, checkpoint, '--out', out, '--test-sets',
                         'balanced', '--cfg-options', 'model.head.alpha=1.0')
    assert report['choice']['fixed_alpha'] == 1.0  # the options applied
    assert osp.isfile(tmp_path / 'stage' / 'chosen' / 'metrics.json')
    with open(out) as f:
        assert json.load(f)['cfg_options'] == {
            'model.head.alpha': report['choice']['alpha']}


def test_grid_choice_equals_brute_force(model):
    dataset = build_test_dataset(load_config(TDE))  # the balanced test set
    feats, labels = extract_features(model, dataset)
    grid = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    best, top1 = tool.choose_on_split(model.head, feats, labels, grid)
    brute = _brute_force_top1(model, dataset, grid)
    model.head.alpha = 1.5
    assert list(top1) == grid
    assert [top1[a] for a in grid] == pytest.approx([brute[a] for a in grid])
    assert best == max(grid, key=lambda a: (brute[a], -grid.index(a)))


def test_validation_split_where_the_dataset_has_one():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/tde/tde_resnext50_1xb256-90e_imagenetlt.py'))
    val = tool.validation_dataset_cfg(cfg)
    assert val['split'] == 'val' and 'imbalance_ratio' not in val
    assert val['pipeline'] == cfg.test_dataloader.dataset.pipeline
    # iNaturalist's test set is its val list: nothing held out.
    assert tool.validation_dataset_cfg(
        Config.fromfile(
            osp.join(
                ROOT,
                'configs/tde/tde_resnet50_1xb256-90e_inat2018.py'))) is None
    assert tool.validation_dataset_cfg(load_config(TDE)) is None


def test_bad_input_is_refused(checkpoint, tmp_path):
    with pytest.raises(ValueError, match='not a TDEHead'):
        run_main(TOOL, XE, checkpoint, '--work-dir', tmp_path)
    with pytest.raises(ValueError, match='no held-out validation split'):
        run_main(TOOL, TDE, checkpoint, '--work-dir', tmp_path, '--method',
                 'val')
    for grid in ([], ['-1']):
        with pytest.raises(SystemExit):
            run_main(TOOL, TDE, checkpoint, '--grid', *grid)
    with pytest.raises(ValueError, match='alpha grid is empty'):
        tool.choose_on_split(None, np.zeros((1, 4)), np.zeros(1), [])
    with pytest.raises(FileNotFoundError, match='none.pth'):
        run_main(TOOL, TDE, str(tmp_path / 'none.pth'))


def _brute_force_top1(model, dataset, grid):
    """Top-1 (%) of the head's ``predict`` (how ``model(...,
    mode='predict')`` ends) on the features it receives, for each alpha."""
    feats, truth = _head_inputs(model, dataset)
    top1 = {}
    for alpha in grid:
        model.head.alpha = alpha
        with torch.no_grad():
            preds = [int(s.pred_label[0])
                     for s in model.head.predict((torch.from_numpy(feats), ))]
        top1[alpha] = 100.0 * np.mean(np.asarray(preds) == truth)
    return top1


@pytest.mark.slow
def test_validation_split_chooses_on_a_miniature_imagenetlt(tmp_path):
    """ImageNet-LT has a val list: the tool chooses on it (the grid's best
    by brute force), then tests both alphas on the test list."""
    config = osp.join(ROOT,
                      'configs/tde/tde_resnext50_1xb256-90e_imagenetlt.py')
    data = write_lt_tree(str(tmp_path / 'imagenet'),
                         'imagenetlt',
                         train_counts=(12, 6, 3, 2),
                         val_per_class=3,
                         test_per_class=4)
    # (No validation during training in the recipe: no val_ options.)
    options = [o for o in miniature_options(4) if not o.startswith('val_')]
    run_main('train', config, '--work-dir', tmp_path / 'tde', '--no-validate',
             '--data-root', data, '--cfg-options', *options)
    checkpoint = str(tmp_path / 'tde' / 'epoch_1.pth')
    grid = [0.0, 1.0, 2.0]
    report, _ = run_main(TOOL, config, checkpoint, '--work-dir',
                         tmp_path / 'alpha', '--data-root', data, '--grid',
                         *map(str, grid), '--test-sets', 'balanced',
                         '--cfg-options', *options)
    choice = report['choice']
    assert choice['method'] == 'val' and choice['images'] == 12
    cfg = load_config(config, data)
    cfg.merge_from_dict(parse_options(options))
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        val = DATASETS.build(tool.validation_dataset_cfg(cfg))
    brute = _brute_force_top1(load_model(cfg, checkpoint), val, grid)
    assert [choice['val_top1'][str(a)]
            for a in grid] == pytest.approx([brute[a] for a in grid])
    assert choice['alpha'] == max(grid,
                                  key=lambda a: (brute[a], -grid.index(a)))
    assert report['results']['chosen']['alpha'] == choice['alpha']
    assert list(report['results']['fixed']['top1']) == ['balanced']
