"""xerm_mm.report.cost: a training's images/s from its checkpoint, its wall
time over resumed runs, and the report's "Cost" table from the steps'
records."""
import torch
from mmengine.logging import HistoryBuffer

from xerm_mm.report import cost_table, runs_wall_time, training_throughput
from xerm_mm.utils.checkpoint import PortableHistoryBuffer


def _checkpoint(path, history=None, iterations=4) -> str:
    ckpt = dict(meta=dict(epoch=2, iter=iterations), state_dict={})
    if history is not None:
        ckpt['message_hub'] = dict(log_scalars={'train/time': history})
    torch.save(ckpt, path)
    return str(path)


def test_training_throughput_from_the_message_hub(tmp_path):
    # As XERMRunner saves it: plain data.
    times = dict(log_history=torch.tensor([0.5, 0.25, 0.25, 0.5],
                                          dtype=torch.float64),
                 count_history=torch.ones(4, dtype=torch.int64),
                 max_length=1000000)
    path = _checkpoint(tmp_path / 'epoch_2.pth', times)
    row = training_throughput(path, batch_size=16, processes=2)
    # 4 iterations of 0.375 s on average; 4 x 16 x 2 images.
    assert row == dict(iterations=4, train_s=1.5, images=128,
                       images_per_s=85.3)
    # As earlier checkpoints hold it: a logging buffer.
    buffer = HistoryBuffer()
    for value in (1.0, 3.0):
        buffer.update(value)
    path = _checkpoint(tmp_path / 'buffer.pth',
                       PortableHistoryBuffer.from_buffer(buffer),
                       iterations=10)
    assert training_throughput(path, 8, 1) == dict(
        iterations=10, train_s=20.0, images=80, images_per_s=4.0)


def test_no_history_no_throughput(tmp_path):
    assert training_throughput(_checkpoint(tmp_path / 'a.pth'), 16, 1) == {}
    empty = dict(log_history=torch.zeros(0, dtype=torch.float64))
    assert training_throughput(_checkpoint(tmp_path / 'b.pth', empty), 16,
                               1) == {}
    assert training_throughput(
        _checkpoint(tmp_path / 'c.pth', dict(log_history=[0.5]),
                    iterations=0), 16, 1) == {}


def test_cost_table():
    lines = cost_table(dict(
        stages=dict(
            xe=dict(device='cpu', processes=2, wall_s=3.0,
                    images_per_s=85.3, peak_rss_mib=512.0,
                    peak_cuda_mib=None),
            old=None,  # not recorded
            tau=dict(device='cuda:H100', processes=1, wall_s=0.5,
                     peak_rss_mib=300.0, peak_cuda_mib=812,
                     chooser='choose_tau_norm.py')),
        evaluations=dict(XE=dict(device='cpu', processes=1, wall_s=1.5,
                                 peak_rss_mib=400.0, peak_cuda_mib=None))))
    assert lines[:2] == [
        '| step | device | processes | wall time (s) | images/s | peak RSS '
        '(MiB) | peak CUDA (MiB) |', '|---|---|---|---|---|---|---|']
    assert lines[2:] == [
        '| xe (train) | cpu | 2 | 3.0 | 85.3 | 512.0 | - |',
        '| old (train) | - | - | - | - | - | - |',
        '| tau (choose) | cuda:H100 | 1 | 0.5 | - | 300.0 | 812 |',
        '| XE (test) | cpu | 1 | 1.5 | - | 400.0 | - |',
        '| total | | | 5.0 | | | |']
    assert cost_table({}) == [
        lines[0], lines[1], '| total | | | 0.0 | | | |']


def test_runs_wall_time_sums_every_run_of_a_work_dir(tmp_path):
    assert runs_wall_time(str(tmp_path)) is None
    runs = {'20261204_230000': ['2026/12/04 23:00:00', '2026/12/04 23:59:30'],
            # The interrupted run's last line is its end.
            '20261205_010000': ['2026/12/05 01:00:00', '2026/12/05 01:00:10',
                                '2026/12/05 01:30:00']}
    for stamp, times in runs.items():
        (tmp_path / stamp).mkdir()
        lines = [f'{t} - mmengine - INFO - line\n  more\n' for t in times]
        (tmp_path / stamp / f'{stamp}.log').write_text(''.join(lines))
    # Not a run's log: ignored.
    (tmp_path / '20261205_010000' / 'other.log').write_text(
        '2026/12/01 00:00:00 - mmengine - INFO - x\n')
    assert runs_wall_time(str(tmp_path)) == 3570 + 1800
    # The runs of the training started then (an earlier one's left out).
    assert runs_wall_time(str(tmp_path), '2026/12/05 00:59:59') == 1800
    assert runs_wall_time(str(tmp_path), '2026/12/06 00:00:00') is None
