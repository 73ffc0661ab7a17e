"""Checks of a config before its runner is built (xerm_mm.utils.config_checks,
the loading and merging of xerm_mm.utils.config), through the tools.

The tools' ``main()`` runs in this process (:func:`inprocess_tool.run_main`)
on the tiny fake CIFAR-10 (IB 10 on 20 images per class).
"""
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import run_tool, small_cifar10_config
from inprocess_tool import load_tool, run_main
from xerm_mm.registry import DATASETS
from xerm_mm.utils.config import load_config, merge_cfg_options
from xerm_mm.utils.config_checks import (check_config, check_key_typos,
                                         check_number_keys,
                                         check_training_split, edit_distance)

pytestmark = pytest.mark.usefixtures('one_thread')

XE = 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
IB5 = 'train_dataloader.dataset.imbalance_ratio=5'


@pytest.fixture(scope='module')
def xe_config(fake_cifar10_root, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('checks'))
    return small_cifar10_config(XE, fake_cifar10_root, folder)


@pytest.fixture(scope='module')
def ib5_run(xe_config, tmp_path_factory):
    """tools/train.py --cfg-options ...imbalance_ratio=5: (runner, work)."""
    work = str(tmp_path_factory.mktemp('ib5'))
    runner, _ = run_main('train', xe_config, '--work-dir', work,
                         '--cfg-options', IB5)
    return runner, work


def _nothing_started(folder):
    return not osp.exists(folder) or os.listdir(folder) == []


def test_edit_distance():
    assert edit_distance('trian_cfg', 'train_cfg') == 1  # swap
    assert edit_distance('train_cf', 'train_cfg') == 1
    assert edit_distance('tain_cfg', 'train_cfg') == 1
    assert edit_distance('val_cfg', 'test_cfg') > 1


# ---- the test sets' training counts are the training split's -----------


def test_train_option_makes_the_test_sets_follow(ib5_run):
    runner, _ = ib5_run
    train = runner.train_dataloader.dataset.metainfo
    val = runner.val_dataloader.dataset.metainfo
    assert train['class_counts'][-1] == 4  # IB 5 on 20 images per class
    # before: the validation set kept the IB 10 counts (20 ... 2)
    assert val['train_class_counts'] == train['class_counts']
    assert runner.cfg.test_dataloader.dataset.train_imbalance_ratio == 5


def test_test_tool_follows_the_same_option(ib5_run, xe_config, tmp_path):
    _, work = ib5_run
    test = load_tool('test')
    args = test.parse_args([
        xe_config, osp.join(work, 'epoch_1.pth'), '--cfg-options', IB5
    ])
    cfg = test.merge_args(load_config(xe_config), args)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert dataset.metainfo['train_class_counts'] == \
        ib5_run[0].train_dataloader.dataset.metainfo['class_counts']
    metrics, _ = run_main('test', xe_config, osp.join(work, 'epoch_1.pth'),
                          '--work-dir', str(tmp_path), '--cfg-options', IB5)
    assert 'ib10/lt/top1' in metrics


@pytest.mark.slow
def test_pipeline_stages_and_evaluations_follow_the_option(
        xe_config, tmp_path):
    """The pipeline's option reaches the training and the test commands (the
    dry run prints them); that the tools follow it is shown above."""
    pipeline = tmp_path / 'one_stage.py'
    pipeline.write_text(f"stages = [dict(name='xe', config={xe_config!r})]\n"
                        "evaluations = [dict(name='XE', stage='xe')]\n")
    work = tmp_path / 'work'
    out = run_tool('tools/run_pipeline.py', str(pipeline), '--work-dir',
                   str(work), '--dry-run', '--cfg-options', IB5)
    commands = [line for line in out.splitlines()
                if line.startswith('Shell command: (')]
    tools = [c for c in commands if f'{xe_config} ' in c]
    assert len(tools) == 2 and 'tools/train.py' in tools[0] \
        and 'tools/test.py' in tools[1], commands
    for command in tools:
        assert f'--cfg-options {IB5}' in command


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_test_sets_of_another_split_are_refused(xe_config, tmp_path, tool):
    work = str(tmp_path / 'work')
    (tmp_path / 'x.pth').write_bytes(b'')
    args = [xe_config] + ([str(tmp_path / 'x.pth')] if tool == 'test' else [])
    with pytest.raises(ValueError) as error:
        run_main(tool, *args, '--work-dir', work, '--cfg-options',
                 'val_dataloader.dataset.train_imbalance_ratio=5',
                 'test_dataloader.dataset.train_imbalance_ratio=5')
    message = str(error.value)
    assert 'train_dataloader.dataset.imbalance_ratio=10' in message
    assert 'val_dataloader.dataset.train_imbalance_ratio=5' in message
    assert _nothing_started(work)


def test_training_split_rules():
    base = dict(type='CIFAR10LT', data_root='x')
    cfg = Config(
        dict(model=dict(),
             train_dataloader=dict(dataset=dict(base, imbalance_ratio=10)),
             val_dataloader=dict(dataset=dict(
                 base, split='test', train_imbalance_ratio=10)),
             test_dataloader=dict(dataset=dict(
                 base, split='test', train_imbalance_ratio=10)),
             test_cfg=dict(test_sets=dict(a=dict(imbalance_ratio=10)))))
    check_training_split(cfg)
    # a test set of its own training ratio
    cfg.test_cfg.test_sets.a.train_imbalance_ratio = 50
    with pytest.raises(ValueError,
                       match='test_cfg.test_sets.a.train_imbalance_ratio=50'):
        check_training_split(cfg)
    del cfg.test_cfg.test_sets.a['train_imbalance_ratio']
    # another profile type
    cfg.train_dataloader.dataset.imb_type = 'step'
    with pytest.raises(ValueError, match="dataset.imb_type='exp'"):
        check_training_split(cfg)
    merge_cfg_options(cfg, {'train_dataloader.dataset.imb_type': 'step'})
    check_training_split(cfg)
    # a balanced training split (the feature study) keeps its test groups
    cfg.train_dataloader.dataset.imbalance_ratio = 1
    check_training_split(cfg)
    merge_cfg_options(cfg, {'train_dataloader.dataset.imbalance_ratio': 1})
    assert cfg.val_dataloader.dataset.train_imbalance_ratio == 10


def test_balanced_training_of_the_feature_study_passes():
    # balanced training; its test sets report the groups of CIFAR100-LT
    cfg = load_config('configs/feature_study/'
                      'frozen-backbone_bbn-resnet32_1xb128-10e_cifar100.py')
    assert cfg.train_dataloader.dataset.imbalance_ratio == 1
    assert cfg.test_dataloader.dataset.train_imbalance_ratio == 100
    check_config(cfg)


# ---- the head against the data -------------------------------------------


@pytest.mark.parametrize('classes,words', [(12, 'never predict classes 10 '
                                            '.. 11'),
                                           (8, 'no output for some labels')])
def test_head_classes_against_the_data(xe_config, tmp_path, classes, words):
    with pytest.raises(ValueError) as error:
        run_main('train', xe_config, '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', f'model.head.num_classes={classes}')
    message = str(error.value)
    assert f'model.head.num_classes={classes}' in message
    assert 'train_dataloader.dataset (CIFAR10LT) has 10 classes' in message
    assert words in message
    assert not osp.exists(tmp_path / 'w' / 'epoch_1.pth')


def test_head_classes_checked_by_the_test_tool(ib5_run, xe_config, tmp_path):
    _, work = ib5_run
    with pytest.raises(ValueError, match=r'test_cfg\.test_sets\.balanced '
                       r'\(CIFAR10LT\) has 10 classes'):
        run_main('test', xe_config, osp.join(work, 'epoch_1.pth'),
                 '--work-dir', str(tmp_path), '--cfg-options', IB5,
                 'model.head.num_classes=12')


# ---- options and config values of the wrong type, key typos --------------


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_list_for_a_number_names_the_key(xe_config, tmp_path, tool):
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    args = [xe_config] + ([str(ckpt)] if tool == 'test' else [])
    with pytest.raises(ValueError,
                       match=re.escape(
                           "optim_wrapper.optimizer.lr=[0.1, 0.2]: "
                           'optim_wrapper.optimizer.lr must be a number')):
        run_main(tool, *args, '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', 'optim_wrapper.optimizer.lr=[0.1,0.2]')


YAML_BASE = f"""_base_:
  - {{xe_config}}
"""


def _yaml(tmp_path, xe_config, body, name='recipe.yaml'):
    path = tmp_path / name
    path.write_text(YAML_BASE.format(xe_config=xe_config) + body)
    return str(path)


def test_yaml_key_typo_is_refused(xe_config, tmp_path):
    recipe = _yaml(tmp_path, xe_config, 'trian_cfg: {max_epochs: 3}\n')
    with pytest.raises(KeyError) as error:
        run_main('train', recipe, '--work-dir', str(tmp_path / 'w'))
    message = str(error.value)
    assert "'trian_cfg' (did you mean 'train_cfg'?)" in message
    assert recipe in message
    assert _nothing_started(tmp_path / 'w')


def test_yaml_text_for_a_number_names_the_key(xe_config, tmp_path):
    recipe = _yaml(
        tmp_path, xe_config, 'optim_wrapper:\n  optimizer: {lr: "0.05"}\n'
        'model:\n  head: {num_classes: ten}\n')
    with pytest.raises(TypeError) as error:
        run_main('train', recipe, '--work-dir', str(tmp_path / 'w'))
    message = str(error.value)
    assert "optim_wrapper.optimizer.lr='0.05' (must be a number)" in message
    assert "model.head.num_classes='ten'" in message and recipe in message


def test_yaml_syntax_error_names_the_file(xe_config, tmp_path):
    base = _yaml(tmp_path, xe_config, 'model:\n  head: {num_classes: 10\n',
                 'base.yaml')
    recipe = tmp_path / 'recipe.yaml'
    recipe.write_text(f'_base_:\n  - {base}\n')
    for path, bad in ((base, base), (str(recipe), base)):
        with pytest.raises(ValueError) as error:
            run_main('train', path, '--work-dir', str(tmp_path / 'w'))
        assert str(error.value).startswith(f'{bad} is not valid YAML')
        assert f'in "{bad}", line 4' in str(error.value)
        assert '<file>' not in str(error.value)


def test_config_value_checks():
    check_key_typos(Config(dict(model=1, _trian_cfg=1, dataset_type='x')))
    with pytest.raises(KeyError, match="'val_cfgs' .*'val_cfg'"):
        check_key_typos(Config(dict(val_cfgs=dict())))
    check_number_keys(
        Config(dict(a=dict(lr=0.1, num_classes=None, milestones=[1, 2]))))
    with pytest.raises(TypeError, match=r'a\.0\.lr=True'):
        check_number_keys(Config(dict(a=[dict(lr=True)])))
    with pytest.raises(TypeError, match=r"milestones=\[1, 'x'\]"):
        check_number_keys(Config(dict(milestones=[1, 'x'])))


# ---- a pipeline config given to a tool -----------------------------------


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_pipeline_config_names_run_pipeline(tool, tmp_path):
    pipeline = ('configs/pipelines/'
                'xerm_bbn-resnet32_1xb16-16e_digitslt-ib100.py')
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    args = [pipeline] + ([str(ckpt)] if tool == 'test' else [])
    with pytest.raises(ValueError) as error:
        run_main(tool, *args, '--work-dir', str(tmp_path / 'w'))
    assert 'is a pipeline config' in str(error.value)
    assert f'tools/run_pipeline.py {pipeline}' in str(error.value)


# ---- tools/test.py's checkpoint is the command line's --------------------


@pytest.mark.parametrize('option', ['load_from=other.pth', 'resume=True'])
def test_test_tool_refuses_a_checkpoint_option(xe_config, tmp_path, option):
    ckpt = tmp_path / 'mine.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(ValueError) as error:
        run_main('test', xe_config, str(ckpt), '--work-dir',
                 str(tmp_path / 'w'), '--cfg-options', option)
    assert f'--cfg-options {option.split("=")[0]}=' in str(error.value)
    assert str(ckpt) in str(error.value)
