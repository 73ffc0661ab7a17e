"""The experiment-wide overrides reach the teacher configs of the xERM
students (stand-in tools: seconds)."""
import os.path as osp
import runpy

import pytest
from conftest import ROOT
from mmengine.config import Config
from test_pipeline_jobs import StandIns

from xerm_mm.apis import Experiment
from xerm_mm.apis.teacher_configs import teacher_config_options

PLAIN = """
model = dict(type='Stand-in', head=dict(num_classes=1000))
train_cfg = dict(max_epochs=2)
train_dataloader = dict(batch_size=4)
"""
STUDENT = PLAIN + (
    'model.update(teacher=dict(config={teacher!r}, checkpoint=None))\n')
PIPELINE = """
stages = [
    dict(name='xe', config={plain!r}),
    dict(name='xerm', config={student!r}, teacher='xe'),
]
evaluations = [dict(name='XE', stage='xe'), dict(name='xERM', stage='xerm')]
"""


def _experiment(tmp_path, options, work='work'):
    plain, student = tmp_path / 'plain.py', tmp_path / 'student.py'
    plain.write_text(PLAIN)
    student.write_text(STUDENT.format(teacher=str(plain)))
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(plain=str(plain), student=str(student)))
    tools = StandIns(tmp_path)
    Experiment(str(config), work_dir=str(tmp_path / work),
               cfg_options=options, tools_dir=tools.dir, jobs=1).run()
    return {(e['name'], e['tool']): e['args']
            for e in tools.events() if e['event'] == 'start'}


def test_overrides_reach_the_teacher_of_a_student(tmp_path):
    args = _experiment(tmp_path, ['model.head.num_classes=5'])
    work = tmp_path / 'work'
    for step, folder in ((('xerm', 'train.py'), work / 'xerm'),
                         (('xERM', 'test.py'), work / 'eval' / 'xERM')):
        written = str(folder / 'teacher_config.py')
        assert f'model.teacher.config={written}' in args[step]
        assert args[step].index('model.head.num_classes=5') < args[
            step].index(f'model.teacher.config={written}')
        assert Config.fromfile(written).model.head.num_classes == 5
    # The teacher checkpoint still comes last, from the teacher stage.
    assert args[('xerm', 'train.py')][-1] == (
        f'model.teacher.checkpoint={work / "xe" / "epoch_2.pth"}')
    assert not any('teacher' in a for a in args[('xe', 'train.py')])


def test_without_overrides_the_student_config_is_untouched(tmp_path):
    args = _experiment(tmp_path, [])
    assert not any('.config=' in a for a in args[('xerm', 'train.py')])
    assert not osp.exists(tmp_path / 'work' / 'xerm' / 'teacher_config.py')


def test_only_teachers_given_as_files(tmp_path):
    model = dict(teacher=dict(config=dict(type='Inline'), checkpoint=None),
                 head=dict(num_classes=3))
    assert teacher_config_options(model, {'a': 1}, str(tmp_path)) == []
    plain = tmp_path / 'plain.py'
    plain.write_text(PLAIN)
    two = dict(imbalanced_teacher=dict(config=str(plain)),
               balanced_teacher=dict(config=str(plain)))
    options = teacher_config_options(two, {'model.head.num_classes': 7},
                                     str(tmp_path / 'out'))
    assert options == [
        f'model.{key}.config={tmp_path / "out" / (key + "_config.py")}'
        for key in ('imbalanced_teacher', 'balanced_teacher')]
    assert teacher_config_options(two, {}, str(tmp_path)) == []


def _tool_config(tool: str, args) -> Config:
    """The config that ``tools/{tool}`` builds from ``args``."""
    parsed = runpy.run_path(osp.join(ROOT, 'tools', tool))['parse_args'](args)
    cfg = Config.fromfile(parsed.config)
    cfg.merge_from_dict(parsed.cfg_options or {})
    return cfg


@pytest.mark.parametrize('options', [[], ['model.head.num_classes=5']])
def test_any_work_dir_path_reaches_the_student(tmp_path, options):
    # --cfg-options would read a comma as a list and drop spaces and quotes.
    name = "runs 1, [xe] 'b' \"c\""
    args = _experiment(tmp_path, options, work=name)
    work = tmp_path / name
    student = _tool_config('train.py', args[('xerm', 'train.py')])
    assert student.model.teacher.checkpoint == str(work / 'xe' / 'epoch_2.pth')
    # The tool gets a copy of the student's config under its own name.
    assert osp.basename(student.filename) == 'student.py'
    evaluation = _tool_config('test.py', args[('xERM', 'test.py')])
    if options:  # the teacher configs written with the overrides
        for cfg, folder in ((student, work / 'xerm'),
                            (evaluation, work / 'eval' / 'xERM')):
            assert cfg.model.teacher.config == str(folder /
                                                   'teacher_config.py')
            assert cfg.model.head.num_classes == 5
            assert Config.fromfile(cfg.model.teacher.config
                                   ).model.head.num_classes == 5
