"""xerm_mm.experiment.plan: pipeline configs checked, then planned as tool
commands (no step runs: seconds)."""
import os
import os.path as osp
import shlex
import subprocess

import pytest
from mmengine.config import Config

from conftest import ROOT
from lt_tree import write_pretrained_stand_ins
from pipeline_setup import PIPELINE, configs  # noqa: F401
from xerm_mm.experiment import make_plan
from xerm_mm.experiment.checks import ExperimentError
from xerm_mm.utils.config import resolve_config_path

PIPELINES = osp.join(ROOT, 'configs', 'pipelines')
R = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
# As files: Config.fromfile of an ``xerm_mm::`` name reads every metafile.
CONFIGS = {key: resolve_config_path(name) for key, name in dict(
    xe=f'xerm_mm::xe/xe_{R}.py',
    crt=f'xerm_mm::decoupling/crt_{R}.py',
    taunorm=f'xerm_mm::decoupling/taunorm_{R}.py',
    xerm_taunorm=f'xerm_mm::xerm/xerm-taunorm_{R}.py',
).items()}
TAU = 'tools/analysis_tools/choose_tau_norm.py'


def write_pipeline(tmp_path, stages: str) -> str:
    path = tmp_path / 'pipeline.py'
    path.write_text(f'stages = [{stages}]\n')
    return str(path)


XE = "dict(name='xe', config={xe!r}), dict(name='tde', config={tde!r}), "
XE_ONLY = f"dict(name='xe', config={CONFIGS['xe']!r}), "


@pytest.mark.parametrize('stages, message', [
    (XE + "dict(name='s', config={xerm_tde!r}, teacher='tdee')",
     "stage 's': teacher 'tdee' is not an earlier stage of ['xe', 'tde']"),
    (XE + "dict(name='s', config={xerm_two!r}, "
     "teachers=dict(imbalanced='xe', balanced='s'))",
     "stage 's': teachers.balanced 's' is not an earlier stage"),
    (XE + "dict(name='s', config={xerm_two!r}, teacher='tde', "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     "stage 's': give teacher='STAGE'"),
    (XE + "dict(name='s', config={xerm_two!r}, teachers=dict(imba='xe'))",
     "stage 's': teachers must be dict(imbalanced='STAGE'"),
    (XE + "dict(name='s', config={tde!r}, teacher='xe')",
     'has no model.teacher = dict(config=..., checkpoint=...) to take the '
     "checkpoint of stage 'xe'"),
    (XE + "dict(name='s', config={both!r}, teacher='tde')",
     'sets model.imbalanced_teacher too'),
    (XE + "dict(name='s', config={broken!r}, teacher='tde')",
     "stage 's': its config {broken} does not load: teacher="),
    (XE + "dict(name='s', config={xe!r}, cfg_options=dict(train_cfg=None))",
     "stage 's': its config {xe} has no int train_cfg.max_epochs"),
    (XE + "dict(name='s', config={xe!r}, nproc=0)",
     "stage 's': nproc must be an int >= 1"),
    (XE + "dict(name='s', config={xe!r}, teachr='xe')",
     "stage 's': unknown keys ['teachr']"),
    (XE + "dict(name='s', config='xerm_mm::xe/none.py')",
     "stage 's': config 'xerm_mm::xe/none.py' not found"),
    (XE + "dict(name='s', config={xe!r}, epochs_factor=2.5)",
     "stage 's': epochs_factor must be an int >= 1"),
    (XE + "dict(name='s', config={xe!r}, resources=dict(runtime='1h'))",
     "stage 's': resources must be dict(runtime=MINUTES"),
    (XE_ONLY + f"dict(name='s', config={CONFIGS['crt']!r}, init_from='x')",
     "stage 's': init_from 'x' is not an earlier stage of ['xe']"),
    (XE_ONLY + f"dict(name='s', config={CONFIGS['xe']!r}, init_from='xe')",
     f"stage 's' (config {CONFIGS['xe']}): init_from='xe' needs "
     'model.init_cfg'),
    (XE_ONLY + f"dict(name='s', config={CONFIGS['taunorm']!r}, "
     "post_hoc='xe')", "stage 's': a post_hoc stage needs chooser="),
    (XE_ONLY + f"dict(name='s', config={CONFIGS['taunorm']!r}, "
     "post_hoc='xe', chooser='tools/analysis_tools/none.py')",
     "stage 's': chooser 'tools/analysis_tools/none.py' not found"),
    (XE_ONLY + f"dict(name='s', config={CONFIGS['crt']!r}, post_hoc='xe', "
     f"chooser={TAU!r}, init_from='xe')",
     "stage 's': a post_hoc stage trains nothing"),
    (XE_ONLY + f"dict(name='t', config={CONFIGS['taunorm']!r}, "
     f"post_hoc='xe', chooser={TAU!r}), dict(name='s', "
     f"config={CONFIGS['taunorm']!r}, post_hoc='t', chooser={TAU!r})",
     "stage 's': post_hoc 't' is itself a post-hoc stage"),
])
def test_bad_pipeline_is_refused_naming_the_key(configs, tmp_path,  # noqa
                                                monkeypatch, stages,
                                                message):
    monkeypatch.chdir(ROOT)  # the choosers, as a user names them
    paths = configs[1]
    config = write_pipeline(tmp_path, stages.format(**paths))
    with pytest.raises(ExperimentError) as error:
        make_plan(config, str(tmp_path / 'work'))
    assert message.format(**paths) in str(error.value)
    assert str(error.value).startswith(config)
    assert not (tmp_path / 'work').exists()


def test_every_shipped_pipeline_plans(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (Places: ImageNet weights under it)
    shipped = sorted(n for n in os.listdir(PIPELINES) if n.endswith('.py'))
    assert len(shipped) > 5
    for name in shipped:
        write_pretrained_stand_ins(osp.join(PIPELINES, name))
        plan = make_plan(osp.join(PIPELINES, name), str(tmp_path / name))
        cfg = Config.fromfile(osp.join(PIPELINES, name))
        kinds = {s.what: s.kind for s in plan.steps}
        for stage in cfg.stages:
            if cfg.get('budget_matched', True) or stage.get(
                    'epochs_factor', 1) == 1:
                expected = 'choose' if stage.get('post_hoc') else 'train'
                assert kinds[stage['name']] == expected, name
        for stage, entry in plan.report['stages'].items():
            assert entry['checkpoint'].endswith('.pth'), (name, stage)


def test_cifar_12e_pipeline_plan(tmp_path):
    """Teachers, students, the budget-matched XE-2x and TDE's chosen alpha:
    each step reads what it needs, a student its teacher's checked
    record."""
    work = str(tmp_path / 'w')
    plan = make_plan(osp.join(PIPELINES, f'xerm_{R}.py'), work)
    assert [s.name for s in plan.steps] == [
        'train_xe', 'train_tde', 'train_xe_2x', 'train_xerm_pc',
        'train_xerm_tde', 'choose_tde_alpha', 'train_xerm_tde_alpha',
        'test_XE', 'test_PC', 'test_TDE', 'test_xERM-PC', 'test_xERM-TDE',
        'test_XE-2x', 'test_PC-2x', 'test_TDE-auto-alpha',
        'test_xERM-TDE-auto-alpha']
    assert plan.step('train_xerm_pc').inputs == [f'{work}/xe/final.json']
    assert plan.step('train_xe').outputs == [f'{work}/xe/epoch_12.pth',
                                            f'{work}/xe/final.json']
    # epochs_factor=2: twice the epochs, the schedule stretched.
    assert plan.step('train_xe_2x').outputs[0] == f'{work}/xe_2x/epoch_24.pth'
    assert 'train_cfg.max_epochs=24' in plan.step('train_xe_2x').command
    # The post-hoc stage chooses on the TDE checkpoint; its evaluation and
    # student read the choice.
    choose = plan.step('choose_tde_alpha')
    assert 'choose_tde_alpha.py' in choose.command
    assert f'{work}/tde/epoch_12.pth --out {work}/tde_alpha/choice.json' in (
        choose.command)
    test = plan.step('test_TDE-auto-alpha')
    assert test.inputs == [f'{work}/tde/final.json',
                           f'{work}/tde_alpha/choice.json']
    assert f'--choice {work}/tde_alpha/choice.json' in test.command
    student = plan.step('train_xerm_tde_alpha')
    assert f'--chosen teacher={work}/tde_alpha/choice.json' in (
        student.command)
    # budget_matched = False: no XE-2x.
    config = tmp_path / 'no2x.py'
    config.write_text(f"_base_ = ['{PIPELINES}/xerm_{R}.py']\n"
                      'budget_matched = False\n')
    names = [s.name for s in make_plan(str(config), work).steps]
    assert 'train_xe_2x' not in names and 'test_XE-2x' not in names


@pytest.mark.parametrize('epochs, classifier_epochs', [(12, 2), (200, 10)])
def test_decoupling_pipelines(tmp_path, epochs, classifier_epochs):
    recipe = f'bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100'
    work = str(tmp_path / 'w')
    plan = make_plan(osp.join(PIPELINES, f'xerm-decoupling_{recipe}.py'),
                     work)
    assert [s.name for s in plan.steps if s.kind != 'test'] == [
        'train_xe', 'train_crt', 'train_lws', 'choose_taunorm',
        'train_xerm_crt', 'train_xerm_lws', 'train_xerm_taunorm']
    for algo in ('crt', 'lws'):  # init_from='xe'
        step = plan.step(f'train_{algo}')
        assert step.inputs == [f'{work}/xe/final.json']
        assert step.outputs[0] == f'{work}/{algo}/epoch_{classifier_epochs}.pth'
        assert (f'--set model.init_cfg.checkpoint={work}/xe/epoch_{epochs}'
                '.pth') in step.command
    assert plan.report['stages']['taunorm']['checkpoint'] == (
        f'{work}/xe/epoch_{epochs}.pth')
    assert {n: e['stage'] for n, e in plan.report['evaluations'].items()} == {
        'XE': 'xe', 'cRT': 'crt', 'LWS': 'lws', 'tau-norm': 'taunorm',
        'xERM-cRT': 'xerm_crt', 'xERM-LWS': 'xerm_lws',
        'xERM-tau-norm': 'xerm_taunorm'}


@pytest.mark.parametrize('name', [
    'xerm-ride_ride2-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm-ride_ride3-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm-balanced_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
])
def test_ride_and_balanced_teacher_pipelines(tmp_path, name):
    """Every student reads its teachers' checked records and gets their
    final checkpoints."""
    cfg = Config.fromfile(osp.join(PIPELINES, name))
    work = str(tmp_path / 'w')
    plan = make_plan(osp.join(PIPELINES, name), work)
    for stage in cfg.stages:
        teachers = [v for k, v in stage.items() if k == 'teacher'] + list(
            (stage.get('teachers') or {}).values())
        if stage.get('post_hoc'):
            continue
        step = plan.step(f'train_{stage["name"]}')
        for teacher in teachers:
            assert plan.report['stages'][teacher]['record'] in step.inputs
            assert plan.report['stages'][teacher]['checkpoint'] in (
                step.command)


def test_multi_process_steps_run_under_torchrun(configs, tmp_path):  # noqa
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(**configs[1]))
    plan = make_plan(str(config), str(tmp_path / 'w'))
    for name in ('train_xerm_pc', 'test_xERM-PC'):
        argv = shlex.split(plan.step(name).command.split(' && ')[-2 if name
                           .startswith('train') else -1])
        assert argv[1:6] == ['-m', 'torch.distributed.run', '--standalone',
                             '--nproc_per_node', '2']
        assert argv[argv.index('--launcher') + 1] == 'pytorch'
        assert plan.step(name).nproc == 2
    assert 'torch.distributed.run' not in plan.step('train_xe').command


def test_paths_reach_the_tools_whatever_they_hold(configs, tmp_path):  # noqa
    """A work dir with spaces, a comma and brackets: the teacher's
    checkpoint and the teacher config reach the student through a copy of
    its config, never through --cfg-options."""
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(**configs[1]))
    work = str(tmp_path / 'runs 1, [a]')
    plan = make_plan(str(config), work, cfg_options=['train_cfg.val_interval=2'])
    step = plan.step('train_xerm_tde')
    writer, resume, train, check = [shlex.split(c) for c in
                                    step.command.split(' && ')]
    copy = osp.join(work, 'xerm_tde', 'pipeline_inputs',
                    osp.basename(configs[1]['xerm_tde']))
    assert writer[-1] != copy and train[2] == copy
    assert not any(work in a for a in train[train.index('--cfg-options'):])
    subprocess.run(writer, check=True, cwd=ROOT)
    cfg = Config.fromfile(copy)
    assert cfg.model.teacher.checkpoint == f'{work}/tde/epoch_1.pth'
    teacher = cfg.model.teacher.config
    assert teacher == f'{work}/xerm_tde/teacher_config.py'
    assert Config.fromfile(teacher).train_cfg.val_interval == 2


def test_stages_from_existing_checkpoints(configs, tmp_path):  # noqa: F811
    """checkpoint='FILE' (or --checkpoint STAGE=FILE): no training, the
    file checked and used by every student and evaluation."""
    paths = configs[1]
    given = tmp_path / 'published, [1].pth'
    given.write_bytes(b'weights')
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(**paths).replace(
        "dict(name='xe', config=", f"dict(name='xe', checkpoint={str(given)!r}"
        ', config='))
    work = str(tmp_path / 'w')
    plan = make_plan(str(config), work)
    check = plan.step('check_xe')
    assert check.kind == 'check' and check.inputs == [str(given)]
    assert shlex.split(check.command)[-4:] == [
        'check', str(given), '--out', f'{work}/xe/final.json']
    assert check.outputs == [f'{work}/xe/final.json']
    assert str(given) in shlex.split(plan.step('test_XE').command)
    student = plan.step('train_xerm_pc')
    assert student.inputs == [f'{work}/xe/final.json']
    assert f'model.teacher.checkpoint={given}' in shlex.split(student.command)
    assert plan.report['stages']['xe']['step'] == 'check_xe'
    # The CLI form, on a stage that trains in the config.
    config.write_text(PIPELINE.format(**paths))
    plan = make_plan(str(config), work, checkpoints=dict(tde=str(given)))
    assert [s.name for s in plan.steps][:2] == ['train_xe', 'check_tde']
    with pytest.raises(ExperimentError, match="has no stage 'td'"):
        make_plan(str(config), work, checkpoints=dict(td=str(given)))
    config.write_text(PIPELINE.format(**paths).replace(
        "dict(name='xe', config=", "dict(name='xe', checkpoint='none.pth', "
        'config='))
    with pytest.raises(ExperimentError,
                       match="stage 'xe': checkpoint 'none.pth' is not a"):
        make_plan(str(config), work)


def test_bad_report_key_is_refused_before_work(tmp_path):
    config = write_pipeline(tmp_path, XE_ONLY)
    with open(config, 'a') as f:
        f.write("report = dict(paper=dict(source='X', results=dict(XE=dict("
                "balanced="
                "dict(top1='40.5')))))\n")
    with pytest.raises(ExperimentError,
                       match=r'report\.paper\.results\.XE\.balanced\.top1 '
                       'must be a number'):
        make_plan(config, str(tmp_path / 'work'))
    assert not (tmp_path / 'work').exists()
