"""How many steps of an experiment run at once (``--jobs``), and where.

The default (:func:`default_jobs`):

* with CUDA, 2 per GPU: a small model of the method (ResNet-32 on 32x32
  images) does not fill a GPU alone, two trainings share one;
* on the CPU, 1: one training already uses every core with its threads.

A step with ``nproc`` processes counts as ``nproc`` jobs (one that needs
more than ``jobs`` runs alone). With ``jobs`` above 1 (:class:`Placement`):

* every tool process gets ``cores // jobs`` intra-op threads
  (``OMP_NUM_THREADS``, which torch reads at its start), unless
  ``OMP_NUM_THREADS`` is set already;
* with several GPUs, a step gets the ``nproc`` GPUs that run the fewest
  steps (``CUDA_VISIBLE_DEVICES``); with one GPU, the steps share it.
"""
import contextlib
import os
import threading
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

JOBS_PER_GPU = 2


def cuda_devices() -> List[str]:
    """The GPUs the tools may use, as ``CUDA_VISIBLE_DEVICES`` names them
    (else ``0 .. count-1``); empty without CUDA."""
    try:
        import torch
        count = torch.cuda.device_count()
    except Exception:  # a broken driver counts as no GPU
        count = 0
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible is None:
        return [str(i) for i in range(count)]
    return [v.strip() for v in visible.split(',') if v.strip()][:count]


def cpu_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_jobs(gpus: Optional[int] = None) -> Tuple[int, str]:
    """The default ``jobs`` and the rule that gave it (see the module)."""
    gpus = len(cuda_devices()) if gpus is None else gpus
    if gpus:
        return JOBS_PER_GPU * gpus, f'{JOBS_PER_GPU} per GPU, {gpus} GPU(s)'
    return 1, 'no GPU: one training uses every core'


def check_jobs(jobs) -> int:
    """``jobs`` if it is an int >= 1; else ValueError."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError('jobs (the steps run at once) must be an int >= 1, '
                         f'got {jobs!r}')
    return jobs


class Placement:
    """The environment of every tool process when ``jobs`` run at once.

    Args:
        jobs (int): The steps run at once.
        devices (Sequence[str], optional): The GPUs (default
            :func:`cuda_devices`).
        cores (int, optional): The cores (default :func:`cpu_cores`).
    """

    def __init__(self,
                 jobs: int,
                 devices: Optional[Sequence[str]] = None,
                 cores: Optional[int] = None):
        self.jobs = jobs
        self.devices = list(cuda_devices() if devices is None else devices)
        self.cores = cpu_cores() if cores is None else cores
        self._load: Counter = Counter({d: 0 for d in self.devices})
        self._lock = threading.Lock()

    @property
    def threads(self) -> Optional[int]:
        """Threads per tool process, None: the tools' own default."""
        if self.jobs == 1 or 'OMP_NUM_THREADS' in os.environ:
            return None
        return max(1, self.cores // self.jobs)

    def _take(self, nproc: int) -> List[str]:
        if self.jobs == 1 or len(self.devices) < 2 or nproc > len(
                self.devices):
            return []
        with self._lock:
            # The least busy first; ties in CUDA_VISIBLE_DEVICES' order.
            order = sorted(self.devices, key=lambda d: self._load[d])
            taken = sorted(order[:nproc], key=self.devices.index)
            self._load.update(taken)
        return taken

    @contextlib.contextmanager
    def env(self, nproc: int) -> Iterator[Optional[Dict[str, str]]]:
        """The environment of a step of ``nproc`` processes while it runs
        (None: this process's, unchanged)."""
        taken = self._take(nproc)
        threads = self.threads
        try:
            if not taken and threads is None:
                yield None
                return
            env = dict(os.environ)
            if threads is not None:
                env['OMP_NUM_THREADS'] = str(threads)
            if taken:
                env['CUDA_VISIBLE_DEVICES'] = ','.join(taken)
            yield env
        finally:
            with self._lock:
                self._load.subtract(taken)
