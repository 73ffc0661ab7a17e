"""tools/analysis_tools/xerm_ablation.py on the DigitsLT demo pipeline.

One ablation (xERM-PC, w = 1 and gamma 2, every stage one epoch, two
steps at once) is run per module through the tool's ``main()``; its stages
and evaluations are real tools/train.py / test.py processes run by the
experiment engine (:mod:`xerm_mm.experiment`).
"""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT
from inprocess_tool import load_tool, run_main

PIPELINE = osp.join(ROOT, 'configs', 'pipelines',
                    'xerm_bbn-resnet32_1xb16-16e_digitslt-ib100.py')
TOOL = 'analysis_tools/xerm_ablation'
# One epoch, no validation while training, a one-block-per-stage network
# (the option reaches the teacher configs too).
SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=2',
         'model.backbone.stage_blocks=(1,1,1)']
SWEEP = ['--methods', 'xERM-PC', '--weights', '1', '--gammas', '2']


def ablation(work, *extra, options=SHORT):
    return run_main(TOOL, '--pipeline', PIPELINE, '--work-dir', work, *SWEEP,
                    *extra, '--cfg-options', *options)


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
    """(numbers, output, work dir) of the ablation's first run."""
    work = str(tmp_path_factory.mktemp('ablation'))
    numbers, out = ablation(work, '--jobs', '2')
    return numbers, out, work


def _points(numbers):
    entry = numbers['methods']['xERM-PC']
    return [(kind, p) for kind in ('weight', 'gamma') for p in entry[kind]]


@pytest.mark.slow
def test_students_train_with_the_swept_loss(first_run):
    numbers, _, work = first_run
    expected = [('weight', 1.0, 'xerm_pc_w1'),
                ('gamma', 2.0, 'xerm_pc_g2')]
    points = _points(numbers)
    assert [(k, p['value'], p['stage']) for k, p in points] == expected
    for kind, point in points:
        # The config tools/train.py resolved and dumped in the stage folder.
        stage = osp.join(work, point['stage'])
        dumped = [f for f in os.listdir(stage)
                  if f.endswith('.py') and f != 'teacher_config.py']
        cfg = Config.fromfile(osp.join(stage, dumped[0]))
        loss = cfg.model.head.loss
        assert loss.type == 'xerm_mm.XERMLoss'
        if kind == 'weight':
            assert (loss.constant_weight, loss.gamma) == (point['value'], 2.0)
        else:
            assert loss.get('constant_weight') is None
            assert loss.gamma == point['value']
        assert cfg.model.teacher.checkpoint == osp.join(work, 'xe',
                                                        'epoch_1.pth')
        assert cfg.train_cfg.max_epochs == 1
    assert numbers['methods']['xERM-PC']['default_gamma'] == 2.0
    # The teacher stage of the pipeline, trained once.
    assert sorted(d for d in os.listdir(work) if not d.startswith(
        ('eval', 'report', 'pipeline', 'ablation', 'xerm_ablation',
             'figures', 'benchmarks', '.'))) == [
            'xe', 'xerm_pc_g2', 'xerm_pc_w1']


@pytest.mark.slow
def test_table_is_the_evaluations_metrics(first_run):
    numbers, out, work = first_run
    assert numbers['balanced_set'] == 'balanced'
    assert numbers['imbalanced_set'] == 'ib100'  # the config's first one
    assert numbers['test_sets'] == ['balanced', 'ib100', 'ib50', 'ib10']
    for _, point in _points(numbers):
        with open(point['metrics_file']) as f:
            metrics = json.load(f)
        assert point['metrics_file'] == osp.join(
            work, 'eval', point['evaluation'] + '.json')
        for test_set, top1 in point['top1'].items():
            assert top1 == metrics[f'{test_set}/lt/top1']
    row = _points(numbers)[0][1]['top1']
    assert ('| w = 1 | ' + ' | '.join(f'{row[s]:.2f}' for s in row)) in out
    assert '| gamma = 2 (default) |' in out
    entry = numbers['methods']['xERM-PC']
    assert entry['adaptive'] == entry['gamma'][0]['top1']
    for ext, head in (('png', b'\x89PNG'), ('pdf', b'%PDF')):
        with open(osp.join(work, f'xerm_ablation.{ext}'), 'rb') as f:
            assert f.read(4) == head
    with open(osp.join(work, 'xerm_ablation.json')) as f:
        assert json.load(f)['methods'] == json.loads(json.dumps(
            numbers['methods']))


@pytest.mark.slow
def test_rerun_trains_nothing(first_run, tmp_path):
    numbers, _, work = first_run
    times = {p['stage']: os.stat(p['checkpoint']).st_mtime
             for _, p in _points(numbers)}
    tested = {p['evaluation']: os.stat(p['metrics_file']).st_mtime
              for _, p in _points(numbers)}
    again, out = ablation(work, '--out-dir', tmp_path)
    assert {p['evaluation']: os.stat(p['metrics_file']).st_mtime
            for _, p in _points(again)} == tested
    assert {p['stage']: os.stat(p['checkpoint']).st_mtime
            for _, p in _points(again)} == times
    assert again['methods'] == numbers['methods']
    assert osp.isfile(tmp_path / 'xerm_ablation.png')


@pytest.mark.slow
def test_teachers_from_a_finished_pipeline(first_run, tmp_path):
    """The teacher's final checkpoint of another work dir is used (checked,
    not trained): the student trained on it is the first run's."""
    numbers, _, work = first_run
    other = str(tmp_path / 'other')
    again, _ = ablation(other, '--teachers-from', work, '--weights', '1',
                        '--gammas')
    assert not osp.exists(osp.join(other, 'xe', 'epoch_1.pth'))
    record = json.load(open(osp.join(other, 'xe', 'final.json')))
    assert record['file'] == osp.join(work, 'xe', 'epoch_1.pth')
    assert record['given'] is True
    (point, ) = again['methods']['xERM-PC']['weight']
    first = [p for p in numbers['methods']['xERM-PC']['weight']
             if p['value'] == 1.0][0]
    assert point['top1'] == first['top1']


@pytest.mark.parametrize('args, message', [
    (['--weights', '1.5'], '[1.5] outside [0, 1]'),
    (['--weights', '-0.25'], '[-0.25] outside [0, 1]'),
    (['--gammas', '0'], '--gammas: [0.0] not > 0'),
    (['--gammas', '2', '-1'], '--gammas: [-1.0] not > 0'),
    (['--methods', 'xERM-XE'], "unknown method 'xERM-XE'"),
    (['--imbalanced-set', 'ib7'], "--imbalanced-set 'ib7'"),
    (['--teachers-from', '/nonexistent'], "stage 'xe' is not finished"),
])
def test_bad_input_is_refused_before_training(args, message, tmp_path,
                                              capsys):
    main = load_tool(TOOL).main  # not run_main: its output is on stderr
    with pytest.raises(SystemExit) as error:
        main(['--pipeline', PIPELINE, '--work-dir', str(tmp_path), *SWEEP,
              *args, '--cfg-options', *SHORT])
    assert message in str(error.value.code) + capsys.readouterr().err
    assert not [d for d in os.listdir(tmp_path) if d.startswith(
        ('xe', 'xerm'))]


def test_figure_has_a_panel_per_sweep_and_marks_the_default_gamma():
    draw_ablation = load_tool(TOOL).draw_ablation

    def points(values):
        return [dict(value=v, top1=dict(balanced=40 + v, ib100=60 - v))
                for v in values]

    entry = dict(default_gamma=2.0, weight=points([0, 1]),
                 gamma=points([1, 2, 3]), adaptive=None)
    numbers = dict(balanced_set='balanced', imbalanced_set='ib100',
                   methods={'xERM-PC': entry})
    fig = draw_ablation(numbers)
    assert [ax.get_title() for ax in fig.axes] == [
        'Constant weights (distillation)', 'Adaptive weights']
    lines = fig.axes[1].get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == [
        [41, 42, 43], [59, 58, 57]]  # balanced, then the imbalanced set
    assert list(lines[2].get_xdata()) == [2.0, 2.0]  # the default gamma
    entry['weight'] = []  # --weights given empty: no w panel
    assert [ax.get_title() for ax in draw_ablation(numbers).axes] == [
        'Adaptive weights']
