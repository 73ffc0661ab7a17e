"""Pipeline stages that start from (``init_from``) or choose options for
(``post_hoc``) an earlier stage's checkpoint, with the tools replaced by a
recording stand-in: the checks, the commands, the records and the reruns
(no training; a few seconds)."""
import itertools
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from xerm_mm.apis import Experiment, ExperimentError
from xerm_mm.utils.atomic import sha256_of
from xerm_mm.utils.config import resolve_config_path

R = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100'
# As files: Config.fromfile of an ``xerm_mm::`` name reads every metafile.
CONFIGS = {key: resolve_config_path(name) for key, name in dict(
    xe=f'xerm_mm::xe/xe_{R}.py',
    tde=f'xerm_mm::tde/tde_{R}.py',
    crt=f'xerm_mm::decoupling/crt_{R}.py',
    taunorm=f'xerm_mm::decoupling/taunorm_{R}.py',
    xerm_crt=f'xerm_mm::xerm/xerm-crt_{R}.py',
    xerm_taunorm=f'xerm_mm::xerm/xerm-taunorm_{R}.py',
    xerm_tde=f'xerm_mm::xerm/xerm-tde_{R}.py',
).items()}
TAU = 'tools/analysis_tools/choose_tau_norm.py'
ALPHA = 'tools/analysis_tools/choose_tde_alpha.py'

PIPELINE = f"""
stages = [
    dict(name='xe', config={CONFIGS['xe']!r}),
    dict(name='tde', config={CONFIGS['tde']!r}),
    dict(name='crt', config={CONFIGS['crt']!r}, init_from='xe'),
    dict(name='taunorm', config={CONFIGS['taunorm']!r}, post_hoc='xe',
         chooser={TAU!r}),
    dict(name='tde_alpha', config={CONFIGS['tde']!r}, post_hoc='tde',
         chooser={ALPHA!r}),
    dict(name='xerm_crt', config={CONFIGS['xerm_crt']!r}, teacher='crt'),
    dict(name='xerm_taunorm', config={CONFIGS['xerm_taunorm']!r},
         teacher='taunorm'),
    dict(name='xerm_tde_alpha', config={CONFIGS['xerm_tde']!r},
         teacher='tde_alpha'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='cRT', stage='crt'),
    dict(name='tau-norm', stage='taunorm'),
    dict(name='TDE-auto-alpha', stage='tde_alpha'),
    dict(name='xERM-tau-norm', stage='xerm_taunorm'),
    dict(name='xERM-TDE-auto-alpha', stage='xerm_tde_alpha'),
]
report = dict(figures=False)
"""
TRAINED = itertools.count()
CHOSEN = {'choose_tau_norm.py': {'model.head.tau': 0.7},
          'choose_tde_alpha.py': {'model.head.alpha': 1.25}}


class FakeTools:
    """``Experiment._run`` stand-in: records each call and writes what the
    tool would (a final checkpoint, the chooser's JSON, metrics)."""

    def __init__(self, experiment):
        self.experiment = experiment
        self.calls = []

    def __call__(self, tool, args, nproc, log):
        name = osp.basename(osp.dirname(log))
        self.calls.append((osp.basename(tool), name, list(args)))
        if tool == 'train.py':
            torch.save(  # another checkpoint each time
                dict(state_dict={'w': torch.full((2, ), next(TRAINED) * 1.)},
                     meta=dict(epoch=self.experiment._epochs[name])),
                self.experiment.final_checkpoint(name))
        elif tool == 'test.py':
            out = args[args.index('--metrics-out') + 1]
            os.makedirs(osp.dirname(out), exist_ok=True)
            with open(out, 'w') as f:
                json.dump({'balanced/lt/top1': 50.0, 'ib100/lt/top1': 60.0},
                          f)
        else:
            assert osp.isabs(tool) and osp.isfile(tool)
            with open(args[args.index('--out') + 1], 'w') as f:
                json.dump(dict(cfg_options=CHOSEN[osp.basename(tool)]), f)
        return None

    def of(self, name):
        return [args for _, step, args in self.calls if step == name]


def _experiment(tmp_path, text=PIPELINE):
    config = tmp_path / 'pipeline.py'
    config.write_text(text)
    experiment = Experiment(str(config), work_dir=str(tmp_path / 'work'),
                            cfg_options=['model.head.num_classes=100'])
    tools = FakeTools(experiment)
    experiment._run = tools
    return experiment, tools


def _option(args, key):
    """The value of ``key=`` among a command's --cfg-options."""
    found = [a.split('=', 1)[1] for a in args if a.startswith(key + '=')]
    assert len(found) == 1, (key, args)
    return found[0]


def _manifest(experiment, name):
    with open(osp.join(experiment.work_dir, name, 'manifest.json')) as f:
        return json.load(f)


def test_init_from_and_post_hoc_stages_run_record_and_rerun(
        tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the choosers: tools/analysis_tools/...
    experiment, tools = _experiment(tmp_path)
    report = experiment.run()
    xe = experiment.final_checkpoint('xe')
    tde = experiment.final_checkpoint('tde')
    # init_from: the XE checkpoint through model.init_cfg.checkpoint, its
    # digest recorded.
    (crt_args, ) = tools.of('crt')
    assert _option(crt_args, 'model.init_cfg.checkpoint') == xe
    assert _manifest(experiment, 'crt')['inputs']['init_from'] == dict(
        stage='xe', sha256=sha256_of(xe))
    # post_hoc: the chooser once, on the source checkpoint with the stage's
    # config and the experiment's options, its JSON in the stage folder.
    (choose, ) = tools.of('taunorm')
    assert choose[:2] == [CONFIGS['taunorm'], xe]
    assert choose[choose.index('--out') + 1] == osp.join(
        experiment.work_dir, 'taunorm', 'choice.json')
    assert choose[choose.index('--cfg-options') + 1:] == [
        'model.head.num_classes=100']
    assert [c[0] for c in tools.calls].count('choose_tau_norm.py') == 1
    record = _manifest(experiment, 'taunorm')
    assert record['checkpoint']['sha256'] == sha256_of(xe)
    assert record['choice']['cfg_options'] == {'model.head.tau': 0.7}
    assert record['inputs']['post_hoc'] == dict(stage='xe',
                                                sha256=sha256_of(xe))
    assert record['inputs']['chooser']['file'] == TAU
    # Its evaluation: the source checkpoint, the stage's config, the choice.
    (evaluation, ) = tools.of('tau-norm')
    assert evaluation[1] == xe and evaluation[0].endswith(f'taunorm_{R}.py')
    assert _option(evaluation, 'model.head.tau') == '0.7'
    assert report['checkpoints']['tau-norm']['sha256'] == sha256_of(xe)
    assert report['checkpoints']['TDE-auto-alpha']['sha256'] == sha256_of(
        tde)
    # The report's sources: the choice, for the sweep command's model.
    assert report['sources']['options']['tau-norm'] == ['model.head.tau=0.7']
    assert report['sources']['options']['XE'] == []
    # A student over a teacher given as a model dict: the choice prefixed.
    (student, ) = tools.of('xerm_taunorm')
    assert _option(student, 'model.teacher.checkpoint') == xe
    assert _option(student, 'model.teacher.config.head.tau') == '0.7'
    assert _manifest(experiment, 'xerm_taunorm')['inputs']['teachers'] == {
        'teacher': dict(stage='taunorm', sha256=sha256_of(xe),
                        chosen=['model.head.tau=0.7'])}
    # ... over a teacher config file: the choice merged into its copy.
    (student, ) = tools.of('xerm_tde_alpha')
    assert _option(student, 'model.teacher.checkpoint') == tde
    written = _option(student, 'model.teacher.config')
    assert written.startswith(osp.join(experiment.work_dir, 'xerm_tde_alpha'))
    teacher = Config.fromfile(written)
    assert teacher.model.head.alpha == 1.25
    assert teacher.model.head.num_classes == 100
    # The report names the decoupled and auto-alpha students' teachers.
    summary = open(osp.join(experiment.work_dir, 'report.md')).read()
    assert 'xERM-tau-norm and xERM-TDE-auto-alpha are between' in summary
    # A rerun does nothing.
    experiment, tools = _experiment(tmp_path)
    experiment.run()
    assert tools.calls == []
    # A retrained source redoes what came from it, and only that.
    os.remove(osp.join(experiment.work_dir, 'xe', 'manifest.json'))
    experiment, tools = _experiment(tmp_path)
    experiment.run()
    assert sorted({step for _, step, _ in tools.calls}) == sorted([
        'xe', 'crt', 'taunorm', 'xerm_crt', 'xerm_taunorm', 'XE', 'cRT',
        'tau-norm', 'xERM-tau-norm'])


TDE_ONLY = f"""
stages = [
    dict(name='tde', config={CONFIGS['tde']!r}),
    dict(name='tde_alpha', config={CONFIGS['tde']!r}, post_hoc='tde',
         chooser={ALPHA!r}),
    dict(name='xerm_tde_alpha', config={CONFIGS['xerm_tde']!r},
         teacher='tde_alpha'),
]
evaluations = [
    dict(name='TDE-auto-alpha', stage='tde_alpha'),
    dict(name='xERM-TDE-auto-alpha', stage='xerm_tde_alpha'),
]
report = dict(figures=False)
"""


def test_a_changed_choice_redoes_the_evaluation_and_student(
        tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    experiment, tools = _experiment(tmp_path, TDE_ONLY)
    experiment.run()
    # The choice file no longer matches its record: chosen again.
    choice = osp.join(experiment.work_dir, 'tde_alpha', 'choice.json')
    with open(choice, 'w') as f:
        json.dump(dict(cfg_options={'model.head.alpha': 9.0}), f)
    monkeypatch.setitem(CHOSEN, 'choose_tde_alpha.py',
                        {'model.head.alpha': 1.5})
    experiment, tools = _experiment(tmp_path, TDE_ONLY)
    experiment.run()
    assert sorted({step for _, step, _ in tools.calls}) == [
        'TDE-auto-alpha', 'tde_alpha', 'xERM-TDE-auto-alpha',
        'xerm_tde_alpha']
    (evaluation, ) = tools.of('TDE-auto-alpha')
    assert _option(evaluation, 'model.head.alpha') == '1.5'


def test_a_chooser_without_cfg_options_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    experiment, tools = _experiment(tmp_path)
    monkeypatch.setitem(CHOSEN, 'choose_tau_norm.py', 'tau 0.7')
    with pytest.raises(ExperimentError, match='has no `cfg_options` dict'):
        experiment.run()


XE = f"dict(name='xe', config={CONFIGS['xe']!r}), "


@pytest.mark.parametrize('stages, message', [
    (XE + f"dict(name='s', config={CONFIGS['crt']!r}, init_from='x')",
     "stage 's': init_from 'x' is not an earlier stage of ['xe']"),
    (f"dict(name='s', config={CONFIGS['crt']!r}, init_from='xe'), " +
     XE.rstrip(', '),
     "stage 's': init_from 'xe' is not an earlier stage of []"),
    (XE + f"dict(name='s', config={CONFIGS['crt']!r}, init_from='s')",
     "stage 's': init_from 's' is not an earlier stage"),
    (XE + f"dict(name='s', config={CONFIGS['xe']!r}, init_from='xe')",
     f"stage 's' (config {CONFIGS['xe']}): init_from='xe' needs "
     'model.init_cfg'),
    (XE + f"dict(name='s', config={CONFIGS['taunorm']!r}, post_hoc='xx', "
     f"chooser={TAU!r})",
     "stage 's': post_hoc 'xx' is not an earlier stage of ['xe']"),
    (XE + f"dict(name='s', config={CONFIGS['taunorm']!r}, post_hoc='xe')",
     "stage 's': a post_hoc stage needs chooser="),
    (XE + f"dict(name='s', config={CONFIGS['taunorm']!r}, post_hoc='xe', "
     "chooser='tools/analysis_tools/none.py')",
     "stage 's': chooser 'tools/analysis_tools/none.py' not found"),
    (XE + f"dict(name='s', config={CONFIGS['crt']!r}, post_hoc='xe', "
     f"chooser={TAU!r}, init_from='xe')",
     "stage 's': a post_hoc stage trains nothing"),
    (XE + f"dict(name='s', config={CONFIGS['xerm_taunorm']!r}, "
     f"post_hoc='xe', chooser={TAU!r}, teacher='xe')",
     "remove ['teacher']"),
    (XE + f"dict(name='s', config={CONFIGS['crt']!r}, chooser={TAU!r})",
     "stage 's': chooser is for a post-hoc stage"),
    (XE + f"dict(name='t', config={CONFIGS['taunorm']!r}, post_hoc='xe', "
     f"chooser={TAU!r}), dict(name='s', config={CONFIGS['taunorm']!r}, "
     f"post_hoc='t', chooser={TAU!r})",
     "stage 's': post_hoc 't' is itself a post-hoc stage"),
])
def test_bad_init_from_or_post_hoc_fails_before_any_work(
        tmp_path, monkeypatch, stages, message):
    monkeypatch.chdir(ROOT)
    config = tmp_path / 'pipeline.py'
    config.write_text(f'stages = [{stages}]\n')
    with pytest.raises(ExperimentError) as error:
        Experiment(str(config), work_dir=str(tmp_path / 'work'))
    assert message in str(error.value)
    assert str(error.value).startswith(str(config))
    assert not (tmp_path / 'work').exists()


def test_chooser_is_found_beside_the_tools(tmp_path, monkeypatch):
    # Not from the checkout's root: found under the tools' parent folder.
    monkeypatch.chdir(tmp_path)
    config = tmp_path / 'pipeline.py'
    config.write_text(
        f'stages = [{XE}dict(name="t", config={CONFIGS["taunorm"]!r}, '
        f'post_hoc="xe", chooser={TAU!r})]\n')
    experiment = Experiment(str(config))
    assert osp.realpath(experiment._choosers['t']) == osp.join(ROOT, TAU)
    assert experiment.final_checkpoint('t') == experiment.final_checkpoint(
        'xe')


PIPELINES = osp.join(ROOT, 'configs', 'pipelines')


@pytest.mark.parametrize('epochs, classifier_epochs', [(12, 2), (200, 10)])
def test_decoupling_pipelines(epochs, classifier_epochs):
    recipe = f'bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100'
    experiment = Experiment(
        osp.join(PIPELINES, f'xerm-decoupling_{recipe}.py'))
    stages = experiment.stages
    assert list(stages) == ['xe', 'crt', 'lws', 'taunorm', 'xerm_crt',
                            'xerm_lws', 'xerm_taunorm']
    for algo in ('crt', 'lws'):
        assert stages[algo]['init_from'] == 'xe'
        assert experiment.final_checkpoint(algo).endswith(
            f'{algo}/epoch_{classifier_epochs}.pth')
    assert stages['taunorm']['post_hoc'] == 'xe'
    assert stages['taunorm']['config'].endswith(f'taunorm_{recipe}.py')
    assert experiment.final_checkpoint('taunorm') == \
        experiment.final_checkpoint('xe')
    for algo in ('crt', 'lws', 'taunorm'):
        assert stages[f'xerm_{algo}']['teacher'] == algo
        assert stages[f'xerm_{algo}']['config'].endswith(
            f'xerm-{algo}_{recipe}.py')
    assert {e['name']: e['stage'] for e in experiment.cfg.evaluations} == {
        'XE': 'xe', 'cRT': 'crt', 'LWS': 'lws', 'tau-norm': 'taunorm',
        'xERM-cRT': 'xerm_crt', 'xERM-LWS': 'xerm_lws',
        'xERM-tau-norm': 'xerm_taunorm'}


@pytest.mark.parametrize('name, auto', [
    ('xerm_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py', True),
    ('xerm_bbn-resnet32_1xb128-12e_cifar100lt-ib100-fast.py', True),
    ('xerm_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py', False),
    ('xerm_resnext50_1xb256-90e_imagenetlt.py', False),
])
def test_tde_auto_alpha_in_the_short_cifar_pipelines_only(name, auto):
    experiment = Experiment(osp.join(PIPELINES, name))
    stages = experiment.stages
    evaluations = [e['name'] for e in experiment.cfg.evaluations]
    if not auto:
        assert 'tde_alpha' not in stages
        assert 'TDE-auto-alpha' not in evaluations
        return
    # The existing stages and evaluations stay as they were, first.
    assert list(stages) == ['xe', 'tde', 'xe_2x', 'xerm_pc', 'xerm_tde',
                            'tde_alpha', 'xerm_tde_alpha']
    assert evaluations == ['XE', 'PC', 'TDE', 'xERM-PC', 'xERM-TDE', 'XE-2x',
                           'PC-2x', 'TDE-auto-alpha', 'xERM-TDE-auto-alpha']
    assert stages['tde_alpha']['post_hoc'] == 'tde'
    assert stages['tde_alpha']['config'] == stages['tde']['config']
    assert stages['tde_alpha']['chooser'] == ALPHA
    assert stages['xerm_tde_alpha']['teacher'] == 'tde_alpha'
    assert stages['xerm_tde_alpha']['config'] == stages['xerm_tde']['config']


def test_chosen_options_reach_teachers_given_as_dicts_or_files(tmp_path):
    from xerm_mm.apis.teacher_configs import teacher_config_options
    model = dict(teacher=dict(config=dict(head=dict(tau=1.0))))
    assert teacher_config_options(
        model, {}, str(tmp_path), dict(teacher={'model.head.tau': 0.3})) == [
            'model.teacher.config.head.tau=0.3']
    with pytest.raises(ValueError, match='not a model option'):
        teacher_config_options(model, {}, str(tmp_path),
                               dict(teacher={'test_cfg.x': 1}))
    model = dict(teacher=dict(config=CONFIGS['tde']))
    (option, ) = teacher_config_options(
        model, {}, str(tmp_path), dict(teacher={'model.head.alpha': 0.5}))
    assert option == f'model.teacher.config={tmp_path}/teacher_config.py'
    assert Config.fromfile(str(tmp_path / 'teacher_config.py')
                           ).model.head.alpha == 0.5
    # Neither options nor a choice: nothing written, the config as it is.
    assert teacher_config_options(model, {}, str(tmp_path / 'no')) == []
    assert not (tmp_path / 'no').exists()


def test_ablation_of_a_post_hoc_teacher_takes_its_source_too():
    from xerm_mm.analysis.ablation_plan import plan_ablation, student_stages
    cfg = Config.fromfile(osp.join(
        PIPELINES, 'xerm_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'))
    assert 'xerm_tde_alpha' in student_stages(cfg)
    stages, _, _, teachers = plan_ablation(cfg, ['xerm_tde_alpha'], [0.5],
                                           [])
    assert teachers == ['tde', 'tde_alpha']
    assert [s['name'] for s in stages] == [
        'tde', 'tde_alpha', 'xerm_tde_alpha_w0.5']


def test_a_finished_post_hoc_stage_is_reused_from_another_work_dir(
        tmp_path, monkeypatch):
    from xerm_mm.analysis.reused_stages import link_finished_stages
    monkeypatch.chdir(ROOT)
    for folder in 'abc':
        (tmp_path / folder).mkdir()
    source, _ = _experiment(tmp_path / 'a', TDE_ONLY)
    source.run()
    experiment, tools = _experiment(tmp_path / 'b', TDE_ONLY)
    link_finished_stages(experiment, ['tde', 'tde_alpha'], source.work_dir)
    experiment.run()
    assert sorted({step for _, step, _ in tools.calls}) == [
        'TDE-auto-alpha', 'xERM-TDE-auto-alpha', 'xerm_tde_alpha']
    (student, ) = tools.of('xerm_tde_alpha')
    assert Config.fromfile(_option(student, 'model.teacher.config')
                           ).model.head.alpha == 1.25
    # A choice made from other inputs is refused, naming why.
    other, _ = _experiment(tmp_path / 'c', TDE_ONLY.replace(
        "teacher='tde_alpha'),", "teacher='tde_alpha', "
        "cfg_options=dict(x=1)),").replace(
            "post_hoc='tde',", "post_hoc='tde', cfg_options=dict(y=2),"))
    with pytest.raises(ValueError, match='stage tde_alpha .* chose from '
                       'other inputs'):
        link_finished_stages(other, ['tde', 'tde_alpha'], source.work_dir)
