"""What a running tool costs, measured as it runs: device, memory, wall time.

:class:`LogWatcher` reads the device and MMEngine's logged CUDA memory from
the tool's output, :class:`PeakRSS` samples the peak resident memory of its
process group (``VmHWM`` of ``/proc/PID/status``) and :func:`step_cost`
makes the step's record; :mod:`xerm_mm.report.cost` turns records into the
report's "Cost" table.
"""
import os
import re
import threading
from collections import OrderedDict
from typing import Optional

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
