"""Budget-matched baselines: XE trained for the epochs of teacher + student
(the pipeline's ``epochs_factor`` stages, the stretched schedule) and the
report's sentence on whether xERM's gain survives the equal budget."""
import os.path as osp
import re
import shlex

import pytest
from mmengine.config import Config

from conftest import ROOT
from xerm_mm.experiment import make_plan
from xerm_mm.experiment.checks import ExperimentError
from xerm_mm.experiment.options import parse_options
from xerm_mm.report import build_report, summarize_tables
from xerm_mm.report.tables import _markdown
from xerm_mm.utils.config import resolve_config_path
from xerm_mm.utils.schedule import stretch_schedule

PIPELINES = osp.join(ROOT, 'configs', 'pipelines')
CIFAR = 'xerm_bbn-resnet32_1xb128-{}e_cifar100lt-ib100{}.py'


def stage_options(plan, name):
    """The ``--cfg-options`` of a stage's training in the plan."""
    train = shlex.split(plan.step(f'train_{name}').command.split(' && ')[-2])
    return train[train.index('--cfg-options') + 1:]


def stage_config(plan, name):
    """A stage's config as its training resolves it."""
    step = plan.step(f'train_{name}')
    cfg = Config.fromfile(resolve_config_path(step.params['config']))
    cfg.merge_from_dict(parse_options(stage_options(plan, name)))
    return cfg


def _epochs(plan, name):
    return int(plan.report['stages'][name]['checkpoint'].rsplit('_', 1)[1][
        :-len('.pth')])


@pytest.mark.parametrize('epochs, fast, warm_up, milestones', [
    (12, '', 2, [16, 20]),
    (12, '-fast', 2, [16, 20]),
    (200, '', 10, [240, 320]),
    (200, '-fast', 10, [240, 320]),
])
def test_cifar_pipelines_train_xe_for_twice_the_epochs(tmp_path, epochs, fast,
                                                       warm_up, milestones):
    plan = make_plan(osp.join(PIPELINES, CIFAR.format(epochs, fast)),
                     str(tmp_path))
    # (The 12-epoch ones add TDE with alpha chosen from data after these.)
    assert list(plan.report['stages'])[:5] == [
        'xe', 'tde', 'xe_2x', 'xerm_pc', 'xerm_tde']
    teacher, student = _epochs(plan, 'xe'), _epochs(plan, 'xerm_pc')
    assert teacher == student == epochs
    assert _epochs(plan, 'xe_2x') == teacher + student
    cfg = stage_config(plan, 'xe_2x')
    assert cfg.train_cfg.max_epochs == teacher + student
    warm, steps = cfg.param_scheduler
    assert (warm.type, warm.begin, warm.end) == ('LinearLR', 0, warm_up)
    assert (steps.type, steps.milestones) == ('MultiStepLR', milestones)
    tests = plan.report['evaluations']
    assert tests['XE-2x']['stage'] == 'xe_2x'
    assert tests['XE-2x']['config'] == tests['XE']['config']
    assert tests['PC-2x']['stage'] == 'xe_2x'
    assert tests['PC-2x']['config'] == tests['PC']['config']


def test_demo_and_large_benchmarks_leave_them_out(tmp_path):
    for name in ('xerm_bbn-resnet32_1xb16-16e_digitslt-ib100.py',
                 'xerm_resnext50_1xb256-90e_imagenetlt.py'):
        plan = make_plan(osp.join(PIPELINES, name), str(tmp_path))
        assert 'xe_2x' not in plan.report['stages']
        assert not {'XE-2x', 'PC-2x'} & set(plan.report['evaluations'])


def test_experiment_wide_epochs_are_doubled_too(tmp_path):
    plan = make_plan(osp.join(PIPELINES, CIFAR.format(12, '')),
                     str(tmp_path), cfg_options=['train_cfg.max_epochs=3'])
    assert {name: _epochs(plan, name) for name in plan.report['stages']} == (
        dict(xe=3, tde=3, xe_2x=6, xerm_pc=3, xerm_tde=3, tde_alpha=3,
             xerm_tde_alpha=3))
    options = stage_options(plan, 'xe_2x')
    assert options[0] == 'train_cfg.max_epochs=3'
    assert 'train_cfg.max_epochs=6' in options
    assert 'param_scheduler.1.milestones=[16,20]' in options


def test_stretch_schedule_options_merge_as_the_tools_merge_them():
    cfg = Config(
        dict(train_cfg=dict(by_epoch=True, max_epochs=10),
             param_scheduler=[
                 dict(type='LinearLR', by_epoch=True, begin=0, end=1),
                 dict(type='CosineAnnealingLR',
                      by_epoch=True,
                      begin=1,
                      end=10,
                      T_max=9),
                 dict(type='StepLR', by_epoch=True, step_size=4, gamma=0.5),
             ]))
    options = stretch_schedule(cfg, 3)
    cfg.merge_from_dict(
        parse_options(
            [f'{k}={v}'.replace(' ', '') for k, v in options.items()]))
    assert cfg.train_cfg.max_epochs == 30
    assert [(p.get('begin'), p.get('end'))
            for p in cfg.param_scheduler] == [(0, 3), (3, 30), (None, None)]
    assert cfg.param_scheduler[1].T_max == 27
    assert cfg.param_scheduler[2].step_size == 12
    assert stretch_schedule(cfg, 1)['train_cfg.max_epochs'] == 30


@pytest.mark.parametrize('cfg, factor, message', [
    (dict(train_cfg=dict(max_epochs=4)), 0, 'epochs factor must be an int'),
    (dict(train_cfg=dict(max_epochs=4)), 1.5, 'epochs factor must be an int'),
    (dict(train_cfg=dict(by_epoch=False, max_iters=9)), 2, 'epoch-based'),
    (dict(train_cfg=dict(max_epochs=4),
          param_scheduler=dict(type='LinearLR', by_epoch=False, end=100)), 2,
     'param_scheduler[0] (LinearLR) is iteration-based'),
])
def test_stretch_schedule_refuses(cfg, factor, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        stretch_schedule(Config(cfg), factor)


def test_bad_epochs_factor_is_refused(tmp_path):
    config = tmp_path / 'p.py'
    config.write_text(
        "stages = [dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_"
        "1xb16-16e_digitslt-ib100.py', epochs_factor=0)]\n")
    with pytest.raises(ExperimentError,
                       match="stage 'xe': epochs_factor "
                       'must be an int >= 1'):
        make_plan(str(config), str(tmp_path / 'w'))


# XE-2x / PC-2x beside the others; xERM-PC gains 3 points over PC and
# keeps 1 over PC-2x; xERM-TDE has no TDE-2x (left out of the sentence).
TABLE1 = {
    'XE': dict(top1=40.0, few_recall=10.0),
    'PC': dict(top1=44.0, few_recall=30.0),
    'TDE': dict(top1=45.0, few_recall=35.0),
    'xERM-PC': dict(top1=47.0, few_recall=28.0),
    'xERM-TDE': dict(top1=46.0, few_recall=30.0),
    'XE-2x': dict(top1=42.0, few_recall=12.0),
    'PC-2x': dict(top1=46.0, few_recall=31.0),
}
TABLE4 = {
    m: dict(balanced=r['top1'], ib10=70.0 - r['few_recall'] / 10)
    for m, r in TABLE1.items()
}


def test_summary_says_whether_the_gain_survives():
    sentences = summarize_tables(TABLE1, TABLE4)
    assert len(sentences) == 3
    assert sentences[2] == (
        'At the equal training budget (-2x: the teacher network trained for '
        "the epochs of teacher + student), xERM-PC's gain over PC on the "
        'balanced test set (+3.0 points, 47.0 %) survives the equal budget: '
        '+1.0 points against PC-2x (46.0 %).')
    table1 = dict(TABLE1, **{'PC-2x': dict(top1=48.5, few_recall=31.0)})
    last = summarize_tables(table1, TABLE4)[2]
    assert ('(+3.0 points, 47.0 %) does not survive the equal budget: '
            '-1.5 points against PC-2x (48.5 %)') in last
    # No budget-matched rows: the two sentences of before.
    plain = {m: r for m, r in TABLE1.items() if not m.endswith('-2x')}
    assert len(summarize_tables(plain, TABLE4)) == 2


def test_report_shows_the_rows_in_every_table():
    results = {
        m:
        dict(balanced=dict(top1=r['top1'], few_recall=r['few_recall']),
             ib10=dict(top1=TABLE4[m]['ib10']))
        for m, r in TABLE1.items()
    }
    report = build_report(results)
    for table in ('table1', 'table4'):
        assert {'XE-2x', 'PC-2x'} <= set(report[table])
    markdown = _markdown(report, 'xERM', {})
    assert markdown.count('| PC-2x |') == 2
    assert "xERM-PC's gain over PC on the balanced test set" in markdown
