"""The "Cost" table of a report, from the cost records of its steps.

A step's record (docs/methods.md) holds ``device``, ``processes``,
``wall_s``, ``peak_rss_mib``, ``peak_cuda_mib`` and, for a training,
``images_per_s`` of :func:`training_throughput`; None where not measured.
"""
import glob
import os.path as osp
import re
from collections import OrderedDict
from datetime import datetime
from typing import Dict, List, Optional

COLUMNS = ('device', 'processes', 'wall_s', 'images_per_s', 'peak_rss_mib',
           'peak_cuda_mib')
HEADERS = ('step', 'device', 'processes', 'wall time (s)', 'images/s',
           'peak RSS (MiB)', 'peak CUDA (MiB)')


# The time stamp that opens a line of MMEngine's log file.
LOG_TIME_FORMAT = '%Y/%m/%d %H:%M:%S'
_LOG_TIME = re.compile(r'(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) - mmengine')


def runs_wall_time(work_dir: str,
                   since: Optional[str] = None) -> Optional[float]:
    """Seconds from the first to the last line of every run's MMEngine log
    (``{work_dir}/{timestamp}/{timestamp}.log``) that began at or after
    ``since`` (``LOG_TIME_FORMAT``; None: all), summed: the wall time of a
    training resumed over several runs, an interrupted run's included (None:
    no log)."""
    start = datetime.strptime(since, LOG_TIME_FORMAT) if since else None
    total, found = 0.0, False
    for log in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        if osp.basename(osp.dirname(log)) + '.log' != osp.basename(log):
            continue
        with open(log, errors='replace') as f:
            times = [datetime.strptime(m.group(1), LOG_TIME_FORMAT)
                     for m in map(_LOG_TIME.match, f) if m]
        if times and (start is None or times[0] >= start):
            found = True
            total += (times[-1] - times[0]).total_seconds()
    return total if found else None


def training_throughput(checkpoint: str, batch_size: int,
                        processes: int) -> dict:
    """``iterations``, ``train_s``, ``images`` and ``images_per_s`` of a
    training from its final checkpoint; empty when the checkpoint holds no
    ``train/time`` history.

    ``train_s`` is the mean of MMEngine's per-iteration ``train/time``
    (data loading included; a resumed training's history holds its earlier
    runs too) from the message hub saved in the checkpoint, times
    ``meta.iter``; ``images`` counts ``iterations x batch_size x
    processes`` (the last, partial batch of an epoch in full).
    """
    import torch  # here: planning and reports need no torch

    from xerm_mm.utils.checkpoint import checkpoint_safe_globals
    with checkpoint_safe_globals():
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    iterations = (ckpt.get('meta') or {}).get('iter')
    history = (ckpt.get('message_hub')
               or {}).get('log_scalars', {}).get('train/time')
    if isinstance(history, dict):  # plain data (XERMRunner)
        times = torch.as_tensor(history['log_history'], dtype=torch.float64)
    elif hasattr(history, 'data'):  # a HistoryBuffer
        times = torch.as_tensor(history.data[0], dtype=torch.float64)
    else:
        return {}
    if not iterations or not len(times):
        return {}
    train_s = float(times.mean()) * int(iterations)
    images = int(iterations) * batch_size * processes
    return OrderedDict(
        iterations=int(iterations),
        train_s=round(train_s, 3),
        images=images,
        images_per_s=round(images / train_s, 1) if train_s > 0 else None)


def _cell(value) -> str:
    """One decimal for a float, '-' for a value not measured."""
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.1f}'
    return str(value)


def cost_table(cost: Dict[str, Dict[str, Optional[dict]]]) -> List[str]:
    """The "Cost" section of ``report.md`` (Markdown lines) from
    ``dict(stages={name: record}, evaluations={name: record})``, with the
    total wall time."""
    lines = ['| ' + ' | '.join(HEADERS) + ' |', '|' + '---|' * len(HEADERS)]
    total = 0.0
    for kind, label in (('stages', 'train'), ('evaluations', 'test')):
        for name, row in cost.get(kind, {}).items():
            row = row or {}
            total += row.get('wall_s') or 0.0
            cells = [_cell(row.get(column)) for column in COLUMNS]
            # A post-hoc stage ran its chooser, not a training.
            step = 'choose' if row.get('chooser') else label
            lines.append(f'| {name} ({step}) | ' + ' | '.join(cells) + ' |')
    lines.append(f'| total | | | {total:.1f} | | | |')
    return lines
