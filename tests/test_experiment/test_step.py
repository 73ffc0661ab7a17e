"""xerm_mm.experiment.step: a final checkpoint checked before anything uses
it, a stage resumed only from the same inputs, a chooser's output read, a
step's config copy written (seconds, no training)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from xerm_mm.experiment import step
from xerm_mm.experiment.checks import checkpoint_problem
from xerm_mm.experiment.options import teacher_config_options
from xerm_mm.utils.atomic import sha256_of


def save(path, epoch=2, **weights):
    weights = weights or {'w': torch.ones(3), 'n': torch.tensor(1)}
    torch.save(dict(meta=dict(epoch=epoch), state_dict=weights), str(path))
    return str(path)


def test_checkpoint_problems(tmp_path):
    path = save(tmp_path / 'epoch_2.pth')
    assert checkpoint_problem(path, 2) is None
    assert 'saved at epoch 2, not at the configured max_epochs 3' in (
        checkpoint_problem(path, 3))
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert checkpoint_problem(path, 2).startswith('does not load')
    save(path, w=torch.tensor([1., float('nan')]))
    assert 'non-finite weights (1 tensors, e.g. w)' in checkpoint_problem(
        path, 2)
    # Weights-only: a pickled object is refused.
    torch.save(dict(meta=dict(epoch=2), state_dict={'w': torch.ones(1)},
                    hook=object()), path)
    assert checkpoint_problem(path, 2).startswith('does not load')
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'


def test_check_writes_the_record_or_fails(tmp_path):
    path = save(tmp_path / 'epoch_2.pth')
    out = str(tmp_path / 'final.json')
    step.main(['check', path, '--epochs', '2', '--batch-size', '4',
               '--out', out])
    record = json.load(open(out))
    assert record['file'] == path and record['sha256'] == sha256_of(path)
    assert (record['epoch'], record['device'], record['processes']) == (
        2, 'cpu', 1)
    with pytest.raises(SystemExit, match='not at the configured max_epochs'):
        step.main(['check', path, '--epochs', '3', '--batch-size', '4',
                   '--out', str(tmp_path / 'other.json')])
    assert not osp.exists(tmp_path / 'other.json')


def test_resume_only_from_the_same_inputs(tmp_path):
    folder = tmp_path / 'xe'
    folder.mkdir()
    teacher = tmp_path / 'final.json'
    teacher.write_text('{"sha256": "a"}')
    args = (str(folder), 'digest', [str(teacher)])
    assert step.resume(*args) == '--overwrite'  # nothing to resume
    last = save(folder / 'epoch_1.pth', epoch=1)
    (folder / 'last_checkpoint').write_text(last)
    assert step.resume(*args) == '--resume'
    assert json.load(open(folder / 'inputs.json'))['resumed'] is True
    # Another config digest, or a retrained teacher: start afresh.
    assert step.resume(str(folder), 'other', [str(teacher)]) == '--overwrite'
    step.resume(*args)
    teacher.write_text('{"sha256": "b"}')
    assert step.resume(*args) == '--overwrite'
    # A broken last checkpoint is not resumed.
    step.resume(*args)
    open(last, 'wb').write(b'not a checkpoint')
    assert step.resume(*args) == '--overwrite'


def test_a_chooser_output_needs_cfg_options(tmp_path):
    path = tmp_path / 'choice.json'
    path.write_text('{"tau": 0.7}')
    with pytest.raises(SystemExit, match='has no `cfg_options` dict'):
        step.main(['choice', str(path), '--chooser', 'choose_tau_norm.py'])
    path.write_text('{"cfg_options": {"model.head.tau": 0.7}}')
    step.main(['choice', str(path), '--chooser', 'choose_tau_norm.py'])


PLAIN = """
model = dict(type='Stand-in', head=dict(num_classes=1000, tau=1.0))
train_cfg = dict(max_epochs=2)
"""


def test_step_config_holds_paths_teachers_and_choices(tmp_path):
    teacher = tmp_path / 'plain.py'
    teacher.write_text(PLAIN)
    student = tmp_path / 'student.py'
    student.write_text(PLAIN + f'model.update(teacher=dict(config='
                       f'{str(teacher)!r}, checkpoint=None))\n')
    chosen = tmp_path / 'choice.json'
    chosen.write_text('{"cfg_options": {"model.head.tau": 0.3}}')
    odd = str(tmp_path / 'runs 1, [a]' / "it's.pth")
    out = tmp_path / 'copy' / 'student.py'
    step.main(['config', str(student), '--out', str(out), '--set',
               f'model.teacher.checkpoint={odd}', '--teachers-in',
               str(tmp_path / 'w'), '--chosen', f'teacher={chosen}',
               '--cfg-options', 'model.head.num_classes=5'])
    cfg = Config.fromfile(str(out))
    assert cfg.model.teacher.checkpoint == odd
    written = Config.fromfile(cfg.model.teacher.config)
    assert cfg.model.teacher.config == str(tmp_path / 'w' /
                                           'teacher_config.py')
    # The experiment-wide options, then the teacher's choice.
    assert (written.model.head.num_classes, written.model.head.tau) == (5,
                                                                         0.3)
    # The student's own choice (a post-hoc stage's evaluation).
    step.main(['config', str(teacher), '--out', str(out), '--choice',
               str(chosen)])
    assert Config.fromfile(str(out)).model.head.tau == 0.3


def test_chosen_options_reach_teachers_given_as_dicts_or_files(tmp_path):
    model = dict(teacher=dict(config=dict(head=dict(tau=1.0))))
    assert teacher_config_options(
        model, {}, str(tmp_path), dict(teacher={'model.head.tau': 0.3})) == [
            'model.teacher.config.head.tau=0.3']
    with pytest.raises(ValueError, match='not a model option'):
        teacher_config_options(model, {}, str(tmp_path),
                               dict(teacher={'test_cfg.x': 1}))
    # Neither options nor a choice: nothing written.
    assert teacher_config_options(model, {}, str(tmp_path / 'no')) == []
    assert not (tmp_path / 'no').exists()


def test_a_given_checkpoint_is_checked_at_any_epoch(tmp_path):
    path = save(tmp_path / 'published.pth', epoch=7)
    out = str(tmp_path / 'final.json')
    step.main(['check', path, '--out', out])
    record = json.load(open(out))
    assert (record['sha256'], record['epoch'], record['given']) == (
        sha256_of(path), 7, True)
    save(path, w=torch.tensor([float('inf')]))
    with pytest.raises(SystemExit, match='non-finite weights'):
        step.main(['check', path, '--out', out])
