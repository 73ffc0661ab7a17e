"""Atomic files: written to a temporary name, fsync-ed, then renamed."""
import contextlib
import hashlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator


def _fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (ignored where not supported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit_file(tmp: str, path: str) -> None:
    """Make the complete file ``tmp`` the file ``path``: ``fsync`` it, give
    it the mode a plain ``open`` would (umask), rename it over ``path`` and
    ``fsync`` the folder."""
    with open(tmp, 'rb+') as f:
        os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(osp.abspath(path)))


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w', **kwargs) -> Iterator[IO]:
    """Open a temporary file that becomes ``path`` when the block ends.

    Args:
        path (str): The final file name (its folder is created if needed).
        mode (str): ``'w'`` (text) or ``'wb'`` (bytes).
        **kwargs: Passed to :func:`open` (e.g. ``encoding``).

    Example::

        with atomic_write('report.json') as f:
            json.dump(report, f)
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f'atomic_write writes whole files: mode must be '
                         f"'w' or 'wb', got {mode!r}")
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        commit_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, 'wb') as f:
        f.write(data)


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, 'w') as f:
        f.write(text)


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of the file ``path``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()
