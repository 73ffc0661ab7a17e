"""Pipelines refused before any work, and the pieces of a pipeline run
that need no training (tools found, launch commands, tables, checkpoint
checks, the work-dir lock, what a step cost)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from lt_tree import write_pretrained_stand_ins
from pipeline_setup import (PIPELINE, configs,  # noqa: F401
                            one_stage_pipeline, run_pipeline)
from xerm_mm.apis import Experiment, ExperimentError, build_report, find_tools
from xerm_mm.apis.launch import tool_command
from xerm_mm.apis.manifest import checkpoint_problem
from xerm_mm.apis.process import WorkDirLock


def write_pipeline(tmp_path, paths, stages: str) -> str:
    path = tmp_path / 'pipeline.py'
    path.write_text(f'stages = [{stages.format(**paths)}]\n')
    return str(path)


XE = "dict(name='xe', config={xe!r}), dict(name='tde', config={tde!r}), "


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
    (XE + "dict(name='s', config={xerm_tde!r}, "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     'has no model.imbalanced_teacher'),
    (XE + "dict(name='s', config={both!r}, teacher='tde')",
     'sets model.imbalanced_teacher too'),
    (XE + "dict(name='s', config={both!r}, "
     "teachers=dict(imbalanced='xe', balanced='tde'))",
     'sets model.teacher too'),
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
])
def test_bad_pipeline_fails_before_any_work(configs, tmp_path, stages,
                                            message):
    config = write_pipeline(tmp_path, configs[1], stages)
    with pytest.raises(ExperimentError) as error:
        Experiment(config, work_dir=str(tmp_path / 'work'))
    assert message.format(**configs[1]) in str(error.value)
    assert str(error.value).startswith(config)
    assert not (tmp_path / 'work').exists()


# The shipped demo's xERM-PC with two teacher networks, as a user writes it.
DIGITS_TWO_NETWORKS = """
_base_ = 'xerm_mm::xerm/xerm-pc_bbn-resnet32_1xb64-30e_digitslt-ib10.py'
model = dict(
    teacher=None,
    imbalanced_teacher=dict(
        config='xerm_mm::xe/xe_bbn-resnet32_1xb64-30e_digitslt-ib10.py',
        checkpoint=None),
    balanced_teacher=dict(
        config='xerm_mm::tde/tde_bbn-resnet32_1xb64-30e_digitslt-ib10.py',
        checkpoint=None))
"""


def test_shipped_and_two_network_pipelines_pass_the_checks(
        tmp_path, monkeypatch):
    pipelines = osp.join(ROOT, 'configs', 'pipelines')
    shipped = [name for name in os.listdir(pipelines) if name.endswith('.py')]
    assert shipped
    monkeypatch.chdir(tmp_path)  # (Places: ImageNet weights under it)
    for name in shipped:
        write_pretrained_stand_ins(osp.join(pipelines, name))
        experiment = Experiment(osp.join(pipelines, name))
        assert all(
            experiment.final_checkpoint(stage).endswith('.pth')
            for stage in experiment.stages)
    student = tmp_path / 'xerm-pc-two.py'
    student.write_text(DIGITS_TWO_NETWORKS)
    config = tmp_path / 'digits.py'
    config.write_text(
        "stages = [dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_1xb64-"
        "30e_digitslt-ib10.py'), dict(name='tde', config='xerm_mm::tde/tde_"
        "bbn-resnet32_1xb64-30e_digitslt-ib10.py'), dict(name='two', "
        f"config={str(student)!r}, teachers=dict(imbalanced='xe', "
        "balanced='tde'))]\n")
    experiment = Experiment(str(config), work_dir=str(tmp_path / 'work'))
    assert experiment.final_checkpoint('two') == str(tmp_path / 'work' /
                                                     'two' / 'epoch_30.pth')


def test_cli_reports_a_bad_pipeline(configs, tmp_path):
    good = PIPELINE.format(**configs[1])
    bad = tmp_path / 'bad_pipeline.py'
    bad.write_text(good.replace("teacher='tde'", "teacher='tdee'"))
    out = run_pipeline(str(bad), '--work-dir', str(tmp_path / 'work'))
    assert "exit: run_pipeline: " in out and "teacher 'tdee'" in out
    assert not (tmp_path / 'work').exists()
    config = tmp_path / 'pipeline.py'
    config.write_text(good)
    out = run_pipeline(str(config), '--nproc', '0')
    assert 'exit: run_pipeline: nproc must be an int >= 1' in out


def test_tools_are_found_in_the_package_then_the_checkout(tmp_path):
    installed = tmp_path / 'site' / 'xerm_mm'
    checkout = tmp_path / 'src'
    for tools in (installed / '.mim' / 'tools', checkout / 'tools'):
        tools.mkdir(parents=True)
        for name in ('train.py', 'test.py'):
            (tools / name).write_text('')
    (checkout / 'xerm_mm').mkdir()
    assert find_tools(str(installed)) == str(installed / '.mim' / 'tools')
    assert find_tools(str(checkout / 'xerm_mm')) == str(checkout / 'tools')
    with pytest.raises(FileNotFoundError) as error:
        find_tools(str(tmp_path / 'bare' / 'xerm_mm'))
    assert str(tmp_path / 'bare' / 'xerm_mm' / '.mim' / 'tools') in str(
        error.value)
    assert str(tmp_path / 'bare' / 'tools') in str(error.value)
    # The checkout of this test run: ./tools or the package's .mim/tools.
    assert osp.samefile(
        osp.join(find_tools(), 'train.py'),
        osp.join(ROOT, 'tools', 'train.py'))


def test_tool_command_launchers():
    assert tool_command('t.py', ['a'], python='py') == ['py', 't.py', 'a']
    for nproc, launcher in ((2, 'none'), (1, 'pytorch')):
        cmd = tool_command('t.py', ['a'], nproc, launcher, python='py')
        assert cmd[:5] == [
            'py', '-m', 'torch.distributed.run', '--nproc_per_node',
            str(nproc)
        ]
        assert cmd[5] == '--master_port' and int(cmd[6]) > 0
        assert cmd[7:] == ['t.py', 'a', '--launcher', 'pytorch']
    with pytest.raises(ValueError, match='launcher must be one of'):
        tool_command('t.py', [], launcher='slurm')
    with pytest.raises(ValueError, match='nproc must be an int >= 1'):
        tool_command('t.py', [], nproc=0)


def test_report_tables():
    results = {
        'XE': {
            'balanced': dict(top1=40.0, many_recall=68.0),
            'ib100': dict(top1=66.0)
        }
    }
    report = build_report(results)
    assert report['table1']['XE']['top1'] == 40.0
    assert report['table1']['XE']['many_recall'] == 68.0
    assert report['table1']['XE']['few_f1'] is None
    assert report['table4']['XE'] == {'balanced': 40.0, 'ib100': 66.0}


def test_checkpoint_problems(tmp_path):
    path = str(tmp_path / 'epoch_2.pth')
    weights = {'w': torch.ones(3), 'n': torch.tensor(1)}
    torch.save(dict(meta=dict(epoch=2), state_dict=weights), path)
    assert checkpoint_problem(path, 2) is None
    assert 'saved at epoch 2, not at the configured max_epochs 3' in (
        checkpoint_problem(path, 3))
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert checkpoint_problem(path, 2).startswith('does not load')
    torch.save(dict(meta=dict(epoch=2), state_dict=dict(
        weights, w=torch.tensor([1., float('nan')]))), path)
    assert 'non-finite weights (1 tensors, e.g. w)' in checkpoint_problem(
        path, 2)
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'


def test_a_second_pipeline_on_a_work_dir_is_refused(configs, tmp_path):
    config = one_stage_pipeline(tmp_path, configs[1])
    work = str(tmp_path / 'work')
    with WorkDirLock(work):
        out = run_pipeline(config, '--work-dir', work)
    assert (f'exit: run_pipeline: {work} is in use by another pipeline '
            f'(pid {os.getpid()}, lock {work}/pipeline.lock)') in out
    assert sorted(os.listdir(work)) == ['pipeline.lock']  # nothing trained


HOLD = ('import sys; from xerm_mm.apis.process import WorkDirLock; '
        'WorkDirLock(sys.argv[1]).acquire(); print("held", flush=True); '
        'sys.stdin.read()')


def test_a_deleted_lock_file_does_not_free_the_work_dir(configs, tmp_path):
    # A running pipeline, its stage folder, and its pipeline.lock deleted.
    config = one_stage_pipeline(tmp_path, configs[1])
    work = tmp_path / 'work'
    holder = subprocess.Popen([sys.executable, '-c', HOLD, str(work)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == 'held\n'
        (work / 'xe').mkdir()
        (work / 'xe' / 'epoch_1.pth').write_text('being written')
        (work / 'pipeline.lock').unlink()
        out = run_pipeline(config, '--work-dir', str(work))
    finally:
        holder.communicate('')
    assert (f'exit: run_pipeline: {work} is in use by another pipeline '
            f'(pid {holder.pid}, lock {work}/pipeline.lock)') in out
    # The running stage is neither moved aside nor trained again.
    assert sorted(os.listdir(work)) == ['xe']
    assert os.listdir(work / 'xe') == ['epoch_1.pth']
    # Free once its holder has ended.
    with WorkDirLock(str(work)):
        assert (work / 'pipeline.lock').read_text() == f'{os.getpid()}\n'


def test_log_watcher_reads_device_and_cuda_memory():
    from xerm_mm.apis.cost import LogWatcher
    watcher = LogWatcher()
    assert watcher.device == 'unknown'
    for line in ('    CUDA available: True\n',
                 '    GPU 0,1: NVIDIA H100 80GB HBM3\n',
                 '    GPU number: 2\n',
                 '11/27 13:00:00 - mmengine - INFO - Epoch(train) [1][10/85]'
                 '  lr: 1e-01  time: 0.0040  data_time: 0.0010  memory: 812'
                 '  loss: 2.3\n',
                 '11/27 13:00:01 - mmengine - INFO - Epoch(test) [10/40]'
                 '  time: 0.0020  memory: 640\n'):
        watcher.feed(line)
    assert watcher.device == 'cuda:NVIDIA H100 80GB HBM3'
    assert watcher.peak_cuda_mib == 812
    cpu = LogWatcher()
    cpu.feed('    CUDA available: False\n')
    cpu.feed('x - mmengine - INFO - Epoch(train) [1][1/1]  time: 0.5  '
             'loss: 1.0\n')
    assert cpu.device == 'cpu' and cpu.peak_cuda_mib is None


def test_training_throughput_from_the_message_hub(tmp_path):
    from xerm_mm.report import cost_table, training_throughput
    path = str(tmp_path / 'epoch_2.pth')
    times = dict(log_history=torch.tensor([0.5, 0.25, 0.25, 0.5],
                                          dtype=torch.float64),
                 count_history=torch.ones(4, dtype=torch.int64),
                 max_length=1000000)
    torch.save(dict(meta=dict(epoch=2, iter=4), state_dict={},
                    message_hub=dict(log_scalars={'train/time': times})),
               path)
    row = training_throughput(path, batch_size=16, processes=2)
    assert row == dict(iterations=4, train_s=1.5, images=128,
                       images_per_s=85.3)
    torch.save(dict(meta=dict(epoch=2, iter=4), state_dict={}), path)
    assert training_throughput(path, 16, 1) == {}
    lines = cost_table(dict(
        stages=dict(xe=dict(row, device='cpu', processes=2, wall_s=3.0,
                            peak_rss_mib=512.0, peak_cuda_mib=None),
                    old=None),
        evaluations=dict(XE=dict(device='cpu', processes=1, wall_s=1.5,
                                 peak_rss_mib=400.0, peak_cuda_mib=None))))
    assert lines[2] == '| xe (train) | cpu | 2 | 3.0 | 85.3 | 512.0 | - |'
    assert lines[3] == '| old (train) | - | - | - | - | - | - |'
    assert lines[4] == '| XE (test) | cpu | 1 | 1.5 | - | 400.0 | - |'
    assert lines[5] == '| total | | | 4.5 | | | |'


def test_peak_memory_of_a_tool_is_its_own():
    """VmHWM of the tool's process group; wait4's ru_maxrss counts the
    parent's memory copied at the fork."""
    from xerm_mm.apis.cost import PeakRSS
    from xerm_mm.apis.process import run_child
    usage = []
    peaks = []

    def on_start(pid):
        peaks.append(PeakRSS(pid, interval=0.05))
        peaks[-1].start()

    code = ('import time\nb = bytearray(300 * 1024 * 1024)\n'
            'for i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(0.5)\n')
    lines = []
    assert run_child([sys.executable, '-c', code], lines.append, on_start,
                     on_exit=usage.append) == 0
    assert usage[0].ru_maxrss / 1024 >= 300  # KiB on Linux
    assert peaks[0].stop() / 1024 >= 300
    assert run_child([sys.executable, '-c', 'import time; time.sleep(0.5)'],
                     lines.append, on_start, on_exit=usage.append) == 0
    assert 0 < peaks[1].stop() / 1024 < 100
