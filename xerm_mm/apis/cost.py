"""What a step of an experiment cost: wall time, device, images/s, memory.

Every stage (``tools/train.py``) and evaluation (``tools/test.py``) of an
:class:`~xerm_mm.apis.Experiment` records a ``cost`` dict in its manifest,
and the report gathers them (``report.json`` ``cost``, ``report.md``
"Cost" table). The numbers come from what the tool and MMEngine already
give, nothing is added to the tools:

* ``wall_s``: seconds from the tool's start to its end (process start-up,
  data, validation and checkpoints included).
* ``device`` (``cpu`` or ``cuda:NAME``) and ``processes``: the device from
  the environment MMEngine's Runner logs at its start (``CUDA available``,
  ``GPU 0: NAME``); the processes are the step's ``nproc``.
* ``peak_rss_mib``: the peak resident memory of the largest process of the
  tool (the tool itself or, under torchrun, a worker): the largest
  ``VmHWM`` of ``/proc/PID/status`` over the processes of the tool's
  process group, read every half second while it runs (``ru_maxrss`` of
  ``os.wait4`` would count the pipeline's own memory, copied at the fork,
  in every child). Without ``/proc``: that ``ru_maxrss``.
* ``peak_cuda_mib``: with CUDA, the largest ``memory`` MMEngine logs
  (``torch.cuda.max_memory_allocated`` of rank 0, MiB); None on a CPU.
* stages only: ``iterations`` (the final checkpoint's ``meta.iter``),
  ``train_s`` (the iterations' time: the mean of MMEngine's per-iteration
  ``train/time``, data loading included, from the message hub saved in the
  final checkpoint, times ``iterations``; a resumed stage's history holds
  its earlier runs too), ``images`` (``iterations x batch size x
  processes``: the last, partial batch of an epoch counts in full) and
  ``images_per_s`` (``images / train_s``).
"""
import os
import re
import threading
from collections import OrderedDict
from typing import Dict, List, Optional

import torch

from xerm_mm.utils.checkpoint import checkpoint_safe_globals

_CUDA = re.compile(r'\bCUDA available: (True|False)\b')
_GPU = re.compile(r'\bGPU [\d,]+: (.+?)\s*$')
_MEMORY = re.compile(r'\bmemory: (\d+)\b')
MIB = 1024 * 1024


class LogWatcher:
    """Reads a tool's output lines for its device and logged CUDA memory."""

    def __init__(self):
        self.cuda: Optional[bool] = None
        self.gpu: Optional[str] = None
        self.peak_cuda_mib: Optional[int] = None

    def feed(self, line: str) -> None:
        if self.cuda is None:
            found = _CUDA.search(line)
            if found:
                self.cuda = found.group(1) == 'True'
        if self.gpu is None and 'GPU number' not in line:
            found = _GPU.search(line)
            if found:
                self.gpu = found.group(1)
        if ' - mmengine - INFO - Epoch(' in line:
            found = _MEMORY.search(line)
            if found:
                self.peak_cuda_mib = max(self.peak_cuda_mib or 0,
                                         int(found.group(1)))

    @property
    def device(self) -> str:
        """``cpu``, ``cuda:NAME`` (``cuda`` without a logged name), or
        ``unknown`` when the tool logged no environment."""
        if self.cuda is None:
            return 'unknown'
        if not self.cuda:
            return 'cpu'
        return f'cuda:{self.gpu}' if self.gpu else 'cuda'


class PeakRSS(threading.Thread):
    """Samples the largest ``VmHWM`` (KiB) of a process group's processes
    every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, pgid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pgid = pgid
        self.interval = interval
        self.kib = 0
        self._done = threading.Event()

    def sample(self) -> None:
        try:
            pids = [p for p in os.listdir('/proc') if p.isdigit()]
        except OSError:
            return
        for pid in pids:
            try:
                if os.getpgid(int(pid)) != self.pgid:
                    continue
                with open(f'/proc/{pid}/status') as f:
                    for line in f:
                        if line.startswith('VmHWM:'):
                            self.kib = max(self.kib, int(line.split()[1]))
                            break
            except (OSError, ValueError):
                continue  # ended meanwhile

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self) -> int:
        """Stop sampling; return the peak seen (KiB; 0: none)."""
        self._done.set()
        if self.is_alive():
            self.join()
        return self.kib


def step_cost(wall_s: float, watcher: LogWatcher, processes: int,
              maxrss_kib: int) -> dict:
    """The ``cost`` of one tool run (``maxrss_kib``: ``ru_maxrss``)."""
    return OrderedDict(
        device=watcher.device,
        processes=processes,
        wall_s=round(wall_s, 3),
        peak_rss_mib=round(maxrss_kib / 1024, 1),
        peak_cuda_mib=watcher.peak_cuda_mib)


def training_throughput(checkpoint: str, batch_size: int,
                        processes: int) -> dict:
    """``iterations``, ``train_s``, ``images`` and ``images_per_s`` of a
    stage from its final checkpoint (see the module); empty when the
    checkpoint holds no ``train/time`` history."""
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


COLUMNS = ('device', 'processes', 'wall_s', 'images_per_s', 'peak_rss_mib',
           'peak_cuda_mib')
HEADERS = ('step', 'device', 'processes', 'wall time (s)', 'images/s',
           'peak RSS (MiB)', 'peak CUDA (MiB)')


def _cell(value) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.1f}'
    return str(value)


def cost_table(cost: Dict[str, Dict[str, Optional[dict]]]) -> List[str]:
    """The "Cost" section of ``report.md`` (Markdown lines) from
    ``dict(stages={name: cost}, evaluations={name: cost})``."""
    lines = ['| ' + ' | '.join(HEADERS) + ' |', '|' + '---|' * len(HEADERS)]
    total = 0.0
    for kind, label in (('stages', 'train'), ('evaluations', 'test')):
        for name, row in cost.get(kind, {}).items():
            row = row or {}
            total += row.get('wall_s') or 0.0
            cells = [_cell(row.get(column)) for column in COLUMNS]
            # A post-hoc stage ran its chooser, not a training.
            kind = 'choose' if row.get('chooser') else label
            lines.append(f'| {name} ({kind}) | ' + ' | '.join(cells) + ' |')
    lines.append(f'| total | | | {total:.1f} | | | |')
    return lines
