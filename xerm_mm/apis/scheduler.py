"""The steps of an experiment, run at once where their dependencies allow.

The main thread runs the scheduler: it *prepares* a step (checks whether it
is done, writes its manifest) when the steps it needs are done and the jobs
it counts for are free, hands the step's *work* (running its tool) to a
thread of its own, and *finishes* it (checks the output, records it) when
the work ends. So only the main thread reads and writes the work dir's
records; the threads only run tools.

On a failure or a signal (:class:`~xerm_mm.apis.process.Interrupted`), the
main thread stops the tools still running (:meth:`ChildGroups.stop`: the
same signal, SIGTERM on a failure), waits for them, still finishes the
steps that ended well meanwhile (their manifests are written), and raises
the first error, naming the steps it stopped.
"""
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .process import ChildGroups, held_signals
from .validate import ExperimentError


@dataclass
class Launch:
    """The work of a step: ``run()`` (a tool; in a thread of its own) and
    ``finish(what run returned)`` (its record; in the main thread)."""
    run: Callable[[], object]
    finish: Callable[[object], None]


@dataclass
class Step:
    """One stage or evaluation.

    Args:
        name (str): Its name in messages (``'stage xe'``).
        needs (tuple[str]): The names of the steps it needs done first.
        weight (int): The jobs it counts for (its processes).
        prepare (callable): Returns its :class:`Launch`, or None when the
            step is done.
    """
    name: str
    needs: Tuple[str, ...]
    weight: int
    prepare: Callable[[], Optional[Launch]]


class _Running:
    """The steps whose work runs in a thread, and what they returned."""

    def __init__(self):
        self.steps: Dict[str, Launch] = {}
        self.threads: Dict[str, threading.Thread] = {}
        self.jobs: Dict[str, int] = {}  # the jobs each one counts for
        self.results: queue.Queue = queue.Queue()

    def start(self, name: str, launch: Launch, jobs: int) -> None:

        def target() -> None:
            try:
                self.results.put((name, True, launch.run()))
            except BaseException as error:  # handed to the main thread
                self.results.put((name, False, error))

        thread = threading.Thread(target=target, name=name, daemon=True)
        self.steps[name] = launch
        self.threads[name] = thread
        self.jobs[name] = jobs
        thread.start()

    def next(self, timeout: float):
        """The next ``(name, launch, ok, value)``; None after
        ``timeout``."""
        try:
            name, ok, value = self.results.get(timeout=timeout)
        except queue.Empty:
            # A signal between get() and here loses a result: its thread
            # has ended and nothing is queued. (ok False, value None.)
            lost = [n for n, t in self.threads.items() if not t.is_alive()]
            if not lost or not self.results.empty():
                return None
            name, ok, value = lost[0], False, None
        self.threads.pop(name).join()
        del self.jobs[name]
        return name, self.steps.pop(name), ok, value


def run_steps(steps: Sequence[Step],
              jobs: int,
              groups: ChildGroups,
              grace: float = 60.0,
              poll: float = 0.5) -> None:
    """Run ``steps`` (in priority order), at most ``jobs`` at once.

    Raises:
        The first error of a step (a tool's failure as ExperimentError) or
        of the main thread (Interrupted on SIGINT / SIGTERM), once the
        tools still running were stopped and waited for.
    """
    pending: List[Step] = list(steps)
    done: Set[str] = set()
    running = _Running()
    try:
        while pending or running.steps:
            _start_ready(pending, done, running, jobs)
            if not running.steps:
                if pending:  # the checks of the pipeline config prevent it
                    raise ExperimentError(
                        'steps wait for steps that never run: '
                        f'{[step.name for step in pending]}')
                break
            ended = None
            while ended is None:  # a timeout: signals are handled
                ended = running.next(poll)
            name, launch, ok, value = ended
            if not ok:
                raise value or ExperimentError(f'{name}: no result')
            launch.finish(value)
            done.add(name)
    except BaseException as error:
        if not running.steps:
            raise
        stopped = _stop_all(running, groups, error, grace, poll)
        if isinstance(error, ExperimentError) and stopped:
            raise ExperimentError(
                f'{error}\nStopped the steps running beside it: '
                f'{", ".join(stopped)}. Run the pipeline again: finished '
                'steps are kept, an interrupted stage resumes from its last '
                'checkpoint.') from error
        raise


def _start_ready(pending: List[Step], done: Set[str], running: _Running,
                 jobs: int) -> None:
    """Prepare, in priority order, every step whose needs are done and that
    fits in the free jobs (a step counting for more than ``jobs`` runs
    alone); start the work of those not done."""
    started = True
    while started:
        started = False
        used = sum(running.jobs.values())
        for step in pending:
            weight = min(step.weight, jobs)
            if any(need not in done for need in step.needs):
                continue
            if running.steps and used + weight > jobs:
                continue
            pending.remove(step)
            launch = step.prepare()
            if launch is None:
                done.add(step.name)
            else:
                running.start(step.name, launch, weight)
            started = True
            break  # again from the first: in priority order


def _stop_all(running: _Running, groups: ChildGroups, error: BaseException,
              grace: float, poll: float) -> List[str]:
    """Stop the running steps' tools (with the signal of ``error``, else
    SIGTERM) and wait for their threads; finish the steps that ended well
    meanwhile. Return the names of the steps stopped."""
    signum = getattr(error, 'signum', None) or (
        signal.SIGINT
        if isinstance(error, KeyboardInterrupt) else signal.SIGTERM)
    stopped: List[str] = []

    def ended(timeout: Optional[float]) -> bool:
        # One deadline for all: each wait gets what is left of it.
        deadline = None if timeout is None else time.monotonic() + timeout
        while running.steps:
            left = poll if deadline is None else min(
                poll, deadline - time.monotonic())
            if left <= 0:
                return False
            got = running.next(left)
            if got is None:
                continue
            name, launch, ok, value = got
            if ok:
                try:
                    launch.finish(value)  # a finished step is kept
                except Exception as problem:
                    stopped.append(f'{name} ({problem})')
            else:
                stopped.append(name)
        return True

    with held_signals():
        groups.stop(signum, ended, grace)
    return stopped
