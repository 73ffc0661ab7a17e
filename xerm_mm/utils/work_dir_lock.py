"""One training per work dir: a ``flock`` the OS drops when its holder dies."""
import datetime
import errno
import fcntl
import json
import os
import os.path as osp
import socket
import warnings
from typing import Optional

LOCK_NAME = '.train.lock'


class WorkDirBusyError(RuntimeError):
    """The work dir is held by another training."""


class WorkDirLock:
    """An exclusive lock on a work dir, held by one training.

    Args:
        work_dir (str): The work dir (created if missing).
        command (str): The command of this training, shown to another
            training that is refused.

    Example:
        >>> with WorkDirLock('work_dirs/xe', 'tools/train.py xe.py'):
        ...     runner.train()
    """

    def __init__(self, work_dir: str, command: str = '') -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.command = command
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise naming its holder.

        Raises:
            WorkDirBusyError: Another process holds it.
        """
        if self.held:
            return
        os.makedirs(self.work_dir, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise WorkDirBusyError(self._busy_message(holder)) from None
            except OSError as error:  # a file system without locks
                os.close(fd)
                if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP,
                                       errno.ENOSYS):
                    raise
                warnings.warn(f'work dir {self.work_dir!r}: its file system '
                              f'does not lock files ({error}); nothing stops '
                              'another training from using it meanwhile')
                return
            if _same_file(fd, self.path):
                break
            # Its holder removed the file between our open and our lock.
            os.close(fd)
        self._fd = fd
        holder = dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=self.command,
            started=datetime.datetime.now().isoformat(' ', 'seconds'))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)

    def release(self) -> None:
        """Remove the lock file and drop the lock (if held)."""
        if not self.held:
            return
        fd, self._fd = self._fd, None
        try:
            # Removed while still locked: whoever opened it meanwhile sees
            # another file at the path once it gets the lock, and retries.
            os.remove(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _busy_message(self, holder: Optional[dict]) -> str:
        if holder:
            who = (f"pid {holder.get('pid')} on host {holder.get('host')}, "
                   f"started {holder.get('started')}: "
                   f"{holder.get('command') or 'command unknown'}")
            stop = f"stop it (kill {holder.get('pid')} on that host)"
        else:
            who = 'a process that is starting; its details are not written yet'
            stop = 'stop it'
        return (f'work dir {self.work_dir!r} is in use by another training '
                f'({who}). Two trainings in one work dir overwrite each '
                f"other's checkpoints. Wait for it to end, {stop}, or give "
                f'another --work-dir. (The lock is {self.path}; it is '
                'released when its process ends, however it ends.)')


def _read_holder(fd: int) -> Optional[dict]:
    try:
        data = os.pread(fd, 1 << 16, 0)
        holder = json.loads(data.decode()) if data else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _same_file(fd: int, path: str) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    ours = os.fstat(fd)
    return (ours.st_dev, ours.st_ino) == (on_disk.st_dev, on_disk.st_ino)
