"""xerm_mm.utils.work_dir_lock: one holder at a time, named to the others,
and never stuck after its process is killed."""
import os
import os.path as osp
import signal
import socket

import pytest
from lock_holder import hold_in_another_process

from xerm_mm.utils.work_dir_lock import (LOCK_NAME, WorkDirBusyError,
                                         WorkDirLock)


def test_a_second_holder_is_refused_with_the_first_named(tmp_path):
    work = str(tmp_path / 'work')
    with WorkDirLock(work, 'tools/train.py a.py'):
        with pytest.raises(WorkDirBusyError) as error:
            WorkDirLock(work, 'tools/train.py b.py').acquire()
    message = str(error.value)
    assert f'pid {os.getpid()} on host {socket.gethostname()}' in message
    assert 'tools/train.py a.py' in message and work in message
    assert not osp.exists(osp.join(work, LOCK_NAME))  # removed on release
    with WorkDirLock(work):  # free again
        pass


def test_a_killed_holder_leaves_nothing_stuck(tmp_path):
    work = str(tmp_path / 'work')
    holder = hold_in_another_process(work)
    try:
        with pytest.raises(WorkDirBusyError, match=f'pid {holder.pid} '):
            WorkDirLock(work).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert osp.exists(osp.join(work, LOCK_NAME))  # left by the kill
    lock = WorkDirLock(work, 'again')
    lock.acquire()
    assert lock.held
    lock.release()


def test_a_holder_starting_up_is_reported_as_such(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    import fcntl
    fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # locked, details not written yet
    try:
        with pytest.raises(WorkDirBusyError, match='is starting'):
            WorkDirLock(str(work)).acquire()
    finally:
        os.close(fd)
