"""The processes of an experiment: one pipeline per work dir, no orphans.

* :class:`WorkDirLock`: the work dir itself held with ``fcntl.flock`` (its
  holder's pid in ``{work_dir}/pipeline.lock``) for as long as a pipeline
  runs; a second pipeline on the same work dir is refused with the holder's
  pid, even if ``pipeline.lock`` was deleted meanwhile.
  The stages' trainings run only as children of the pipeline holding it, so
  no two trainers share a stage folder. (A ``tools/train.py`` started by
  hand into a stage folder is not locked out: don't.) The kernel drops the
  lock when its holder dies, even by SIGKILL, so a stale file never blocks.
* :func:`run_child`: a tool runs in its own process group. SIGINT / SIGTERM
  to the pipeline are forwarded to that group and the pipeline waits for it
  to end (SIGKILL after ``grace`` seconds) before it stops with
  :class:`Interrupted`. On Linux the child also asks the kernel
  (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, through ctypes, before ``exec``)
  for a SIGTERM when the pipeline dies, so a SIGKILL-ed pipeline leaves no
  trainer running on; ``torchrun`` passes that SIGTERM on to its workers.
* :class:`ChildGroups`: the process groups of the tools running at once
  (``--jobs``), each started by :func:`run_child` in a thread of its own;
  the main thread stops them all (:meth:`ChildGroups.stop`) on a signal or
  when one step fails, with :func:`held_signals` so that a second signal
  does not cut that short. (``PR_SET_PDEATHSIG`` fires when the *thread*
  that started the child ends: that thread lives until its tool has ended.)
"""
import contextlib
import ctypes
import errno
import os
import signal
import subprocess
import sys
import threading
from typing import Callable, Dict, Iterator, List, Optional, Set

PR_SET_PDEATHSIG = 1  # linux/prctl.h
FORWARDED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(RuntimeError):
    """The pipeline got SIGINT / SIGTERM; its running tool was stopped."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f'stopped by {signal.Signals(signum).name}; its '
                         'running tool was stopped too. Run it again to go '
                         'on from the last checkpoint.')


# flock errors of a file system that cannot lock a folder (NFS: EBADF).
_NO_FOLDER_LOCK = (errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP)


def _flock_holder(fd: int) -> Optional[str]:
    """The pid holding a ``flock`` on the file of ``fd``, as the kernel
    lists it in ``/proc/locks`` (Linux); None elsewhere."""
    info = os.fstat(fd)
    file_id = (f'{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:'
               f'{info.st_ino}')
    try:
        with open('/proc/locks') as f:
            for line in f:
                fields = line.split()
                if fields[1:2] == ['FLOCK'] and fields[5:6] == [file_id]:
                    return fields[4]
    except OSError:
        pass
    return None


def _read_pid(path: str) -> Optional[str]:
    """The pid a holder wrote to ``path``; None without the file."""
    try:
        with open(path) as f:
            return f.read(64).strip() or None
    except OSError:
        return None


class WorkDirLock:
    """An exclusive lock on a work dir: ``flock`` on the folder itself.

    The holder writes its pid to ``{work_dir}/pipeline.lock``; deleting that
    file does not free the work dir. Where the file system cannot lock a
    folder (NFS), the lock is taken on ``pipeline.lock`` instead.

    Args:
        work_dir (str): The pipeline's work dir (created if needed).

    Raises:
        RuntimeError: On :meth:`acquire`, when another process holds it;
            names that process's pid and the lock file.
    """

    NAME = 'pipeline.lock'

    def __init__(self, work_dir: str):
        self.path = os.path.join(work_dir, self.NAME)
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        try:
            fd = self._lock(folder)
        except OSError as error:
            if error.errno not in _NO_FOLDER_LOCK:
                raise
            fd = self._lock(self.path)  # a file system as NFS: the file
        with open(self.path, 'w') as f:
            f.write(f'{os.getpid()}\n')
        self._fd = fd

    def _lock(self, path: str) -> int:
        """``flock`` ``path`` (the work dir, or the lock file); its fd."""
        import fcntl
        if path == self.path:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            busy = error.errno in (errno.EAGAIN, errno.EACCES)
            holder = (_flock_holder(fd) or _read_pid(self.path)) if busy \
                else None
            os.close(fd)
            if not busy:
                raise
            raise RuntimeError(
                f'{os.path.dirname(self.path)} is in use by another pipeline '
                f'(pid {holder or "unknown"}, lock {self.path}). Wait for it '
                'to end or stop it (kill -TERM PID), or give this run another '
                '--work-dir.') from None
        return fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops the flock; the file stays
            self._fd = None

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: own process group, SIGTERM when the parent dies.

    libc is loaded here, in the parent: the forked child of a process with
    several threads must not take the loader's locks (``dlopen``).
    """
    prctl = (ctypes.CDLL(None, use_errno=True).prctl
             if sys.platform.startswith('linux') else None)

    def preexec() -> None:
        # run_child blocks SIGINT / SIGTERM around the start: not in here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
            if os.getppid() != parent:  # it died before prctl
                os._exit(1)

    return preexec


def stop_group(proc: subprocess.Popen, signum: int, grace: float) -> None:
    """Send ``signum`` to the process group of ``proc`` and wait for it;
    SIGKILL the group after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Workers of a launcher (torchrun) may outlive it: end the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def forward_signals() -> Iterator[None]:
    """While the block runs, SIGINT / SIGTERM raise :class:`Interrupted`
    (which :func:`run_child` turns into stopping its child). Outside the
    main thread signals cannot be handled: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in FORWARDED}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def run_child(cmd: List[str],
              on_line: Callable[[str], None],
              on_start: Callable[[int], None] = lambda pid: None,
              grace: float = 60.0,
              on_exit: Optional[Callable[[object], None]] = None,
              env: Optional[Dict[str, str]] = None) -> int:
    """Run ``cmd`` (stdout and stderr merged, line by line to ``on_line``)
    in its own process group; return its exit code.

    ``env``: the child's environment (default: this process's).

    ``on_exit`` gets the child's ``resource.struct_rusage`` (``os.wait4``;
    not called where there is none): its ``ru_maxrss`` is the peak RSS, KiB,
    of the child or of the largest of the children it waited for (e.g.
    torchrun's workers), but counts the memory of this process copied at
    the fork too.

    On any exception while it runs (:class:`Interrupted` from a signal,
    KeyboardInterrupt), the child's group gets the same signal (SIGTERM for
    other exceptions), is waited for, and the exception goes on.
    """
    # A signal between the start and the ``try`` would leave the child
    # running: held until the child is known (and recorded by on_start).
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            preexec_fn=_die_with_parent(os.getpid()))
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        raise
    try:
        try:
            on_start(proc.pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        for line in proc.stdout:
            on_line(line)
        if not hasattr(os, 'wait4'):
            return proc.wait()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if on_exit:
            on_exit(usage)
        return proc.returncode
    except BaseException as error:
        signum = getattr(error, 'signum', None) or (
            signal.SIGINT
            if isinstance(error, KeyboardInterrupt) else signal.SIGTERM)
        # A second signal must not cut the wait short: held until it ends.
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        try:
            stop_group(proc, signum, grace)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        raise
    finally:
        proc.stdout.close()


@contextlib.contextmanager
def held_signals() -> Iterator[List[int]]:
    """In the main thread: SIGINT / SIGTERM are only recorded (in the list
    it yields) while the block runs, e.g. while the tools are stopped and
    waited for. (Blocking them with ``pthread_sigmask`` is not enough with
    several threads: another thread takes the signal and the main thread
    runs the handler.) Elsewhere nothing changes."""
    got: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = {
        s: signal.signal(s, lambda signum, frame: got.append(signum))
        for s in FORWARDED
    }
    try:
        yield got
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


class ChildGroups:
    """The process groups of the tools running at once.

    :func:`run_child`'s ``on_start`` calls :meth:`add` (in the thread that
    runs the tool) and the thread calls :meth:`remove` once the tool has
    ended; :meth:`stop` signals every group, and every group added after it
    as soon as it is added, so that no tool starts unseen.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._running: Set[int] = set()
        self._stopped: Set[int] = set()
        self.signum: Optional[int] = None  # set by stop()

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)

    def _send(self, pgid: int, signum: int) -> None:
        self._stopped.add(pgid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signum)

    def add(self, pgid: int) -> None:
        with self._lock:
            self._running.add(pgid)
            if self.signum is not None:
                self._send(pgid, self.signum)

    def remove(self, pgid: int) -> None:
        with self._lock:
            self._running.discard(pgid)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to every running group (and to every group added
        later)."""
        with self._lock:
            self.signum = signum
            for pgid in self._running:
                self._send(pgid, signum)

    def stop(self, signum: int, ended: Callable[[Optional[float]], bool],
             grace: float = 60.0) -> None:
        """Signal every group with ``signum``; wait until ``ended(timeout)``
        (``None``: no limit) says that every tool has ended (its thread has
        reaped it), SIGKILL-ing the groups after ``grace`` seconds. Then
        SIGKILL what is left of the stopped groups (a launcher's workers may
        outlive it)."""
        self.signal(signum)
        if not ended(grace):
            self.signal(signal.SIGKILL)
            ended(None)
        with self._lock:
            for pgid in self._stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
