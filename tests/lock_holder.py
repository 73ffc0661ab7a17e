"""A process that holds a work dir's lock (xerm_mm.utils.work_dir_lock)
until it is killed."""
import subprocess
import sys

HOLD = ('import sys, time\n'
        'from xerm_mm.utils.work_dir_lock import WorkDirLock\n'
        'WorkDirLock(sys.argv[1], "train.py held.py").acquire()\n'
        'print("held", flush=True)\n'
        'time.sleep(120)\n')


def hold_in_another_process(work_dir: str) -> subprocess.Popen:
    """A process holding the lock of ``work_dir`` until it is killed."""
    holder = subprocess.Popen([sys.executable, '-c', HOLD, work_dir],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == 'held'
    return holder
