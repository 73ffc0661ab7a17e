"""Atomic outputs: a failure half-way (a full disk, simulated by a tiny
``RLIMIT_FSIZE``, or a writer that fails) leaves no truncated file under a
final name, and an older complete file stays as it was."""
import contextlib
import errno
import json
import os
import resource

import pytest
import torch

from conftest import small_cifar10_config
from inprocess_tool import run_main
from xerm_mm.report import build_report, write_metrics_json, write_report
from xerm_mm.utils.atomic import atomic_write, atomic_write_text, sha256_of

XE = 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'


@contextlib.contextmanager
def disk_full_after(size: int):
    """Files of this process cannot grow beyond ``size`` bytes: a write
    past it fails with EFBIG (Python ignores SIGXFSZ), as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def only_files(folder) -> list:
    return sorted(os.listdir(folder))


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / 'out.json'
    atomic_write_text('old, complete', str(path))
    with pytest.raises(RuntimeError, match='half-way'):
        with atomic_write(str(path)) as f:
            f.write('new, but ')
            raise RuntimeError('half-way')
    assert path.read_text() == 'old, complete'
    assert only_files(tmp_path) == ['out.json']  # no temporary file left
    atomic_write_text('new', str(path))
    assert path.read_text() == 'new'
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(str(path), 'a'):
            pass


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


class FailsHalfWay:
    """A metric value whose conversion fails while the JSON is written."""

    def tolist(self):
        raise OSError(errno.ENOSPC, 'No space left on device')


def test_metrics_json_never_truncated(tmp_path):
    path = tmp_path / 'eval' / 'metrics.json'
    metrics = {f'balanced/lt/m{i}': float(i) for i in range(100)}
    with pytest.raises(OSError, match='No space left'):
        write_metrics_json(dict(metrics, last=FailsHalfWay()), str(path))
    assert not path.exists() and only_files(path.parent) == []
    with disk_full_after(512), pytest.raises(OSError) as error:
        write_metrics_json(metrics, str(path))
    assert error.value.errno == errno.EFBIG
    assert only_files(path.parent) == []
    write_metrics_json(metrics, str(path))
    assert json.loads(path.read_text()) == metrics


def test_report_never_truncated(tmp_path):
    report = build_report(
        {f'M{i}': {'balanced': dict(top1=float(i))} for i in range(50)},
        checkpoints={'M0': dict(file='xe/epoch_1.pth', sha256='ab' * 32)})
    write_report(report, str(tmp_path))
    before = {name: sha256_of(str(tmp_path / name))
              for name in ('report.json', 'report.md')}
    with disk_full_after(256), pytest.raises(OSError):
        write_report(report, str(tmp_path))
    report['table1']['M0']['top1'] = FailsHalfWay()
    with pytest.raises(TypeError):
        write_report(report, str(tmp_path))
    # The complete files of the earlier run, and nothing else.
    assert only_files(tmp_path) == ['report.json', 'report.md']
    assert before == {name: sha256_of(str(tmp_path / name))
                      for name in ('report.json', 'report.md')}
    markdown = (tmp_path / 'report.md').read_text()
    assert '| M0 | xe/epoch_1.pth | abababababab |' in markdown


def test_checkpoint_on_a_full_disk_is_not_left_truncated(
        fake_cifar10_root, tmp_path):
    """tools/train.py (XERMRunner) with room for the logs but not for a
    checkpoint: the save fails, no epoch_1.pth and no last_checkpoint."""
    config = small_cifar10_config(XE, fake_cifar10_root, str(tmp_path))
    work = tmp_path / 'work'
    with disk_full_after(256 * 1024), pytest.raises(OSError) as error:
        run_main('train', config, '--work-dir', work)
    assert error.value.errno == errno.EFBIG
    names = only_files(work)
    assert 'epoch_1.pth' not in names and 'last_checkpoint' not in names
    assert not [name for name in names if name.endswith('.tmp')]
    # With room, the same run saves a checkpoint that loads.
    run_main('train', config, '--work-dir', tmp_path / 'roomy')
    ckpt = torch.load(str(tmp_path / 'roomy' / 'epoch_1.pth'),
                      weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    assert not [n for n in only_files(tmp_path / 'roomy') if '.tmp' in n]
