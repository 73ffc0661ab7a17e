"""One short status line per logged step of a running tool.

While an experiment runs, every progress line that MMEngine's logger
writes (``... - mmengine - INFO - Epoch(train)  [1][ 10/391]  lr: ...
eta: 0:12:34 ... loss: 2.3``) is echoed as one line naming the step, so that
the steps running at once (``--jobs``) stay apart in a plain log::

    xe (train) | epoch 1/12, iter 10/391, eta 0:12:34, loss 2.3
    xe (train) | val epoch 1, iter 40/40, lt/top1 17.2
    XE (test) | iter 4/4, balanced/lt/top1 40.1
    XE (test) | iter 4/4, ib10/lt/top1 55.3

and the end of each tool as ``xe (train) | ended after 812.4 s`` (or
``failed (exit 1) after ...``).
"""
import re
import sys
import threading
from typing import Optional

_PRINT = threading.Lock()


def say(text: str) -> None:
    """Print a line whole, from any thread."""
    with _PRINT:
        sys.stdout.write(text + '\n')
        sys.stdout.flush()


# Lines of the tools' logs echoed while a step runs: training / val / test.
PROGRESS_MARK = ' - mmengine - INFO - Epoch('

_STEP = re.compile(r'^(?P<mode>\w+)\)\s*(?:\[(?P<epoch>\d+)\])?'
                   r'\[\s*(?P<iter>\d+)/(?P<iters>\d+)\]\s*(?P<rest>.*)$')
_FIELD = re.compile(r'(\S+): (\S+)')


def _set_tag(key: str) -> str:
    """The test set of metric ``key``: ``'ib10'`` of ``'ib10/lt/top1'``,
    ``'ib10/balanced_view'`` of ``'ib10/balanced_view/lt/top1'``."""
    parts = key.split('/')
    return '/'.join(parts[:2] if parts[1].endswith('_view') else parts[:1])


def _first_metric(fields: list) -> list:
    """The first metric of the test set whose metrics end the line.

    The line closing each test set of a MultiTestLoop repeats the metrics of
    the sets before it (MMEngine logs every ``test/`` scalar of the run), so
    the set just tested is the one of the last metric.
    """
    metrics = [(k, v) for k, v in fields if '/' in k]
    if not metrics:
        return fields[:1]
    tag = _set_tag(metrics[-1][0])
    return [next((k, v) for k, v in metrics if _set_tag(k) == tag)]


def progress_line(label: str,
                  line: str,
                  max_epochs: Optional[int] = None) -> Optional[str]:
    """The status line of tool output ``line`` for step ``label`` (e.g.
    ``'xe (train)'``); None for a line that is no progress line.

    A training line gives epoch (of ``max_epochs``), iteration, ETA and
    loss; the line closing a validation or a test set gives the first
    metric of that set.
    """
    if PROGRESS_MARK not in line:
        return None
    text = line.split(PROGRESS_MARK, 1)[1].rstrip()
    found = _STEP.match(text)
    if not found:
        return f'{label} | Epoch({text[:150]}'
    mode, epoch = found.group('mode'), found.group('epoch')
    parts = []
    if epoch is not None:
        total = f'/{max_epochs}' if mode == 'train' and max_epochs else ''
        parts.append(f'epoch {epoch}{total}')
    parts.append(f'iter {found.group("iter")}/{found.group("iters")}')
    fields = _FIELD.findall(found.group('rest'))
    shown = [(k, v) for k, v in fields if k in ('eta', 'loss')]
    if not shown and fields and mode != 'train':
        shown = _first_metric(fields)  # the end of a val / test
    parts += [f'{key} {value}' for key, value in shown]
    head = '' if mode in ('train', 'test') else f'{mode} '
    return f'{label} | {head}' + ', '.join(parts)
