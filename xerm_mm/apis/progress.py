"""One short status line per logged step of a running tool.

While an experiment runs, every progress line that MMEngine's logger
writes (``... - mmengine - INFO - Epoch(train)  [1][ 10/391]  lr: ...
eta: 0:12:34 ... loss: 2.3``) is echoed as one line naming the step, so that
the steps running at once (``--jobs``) stay apart in a plain log::

    xe (train) | epoch 1/12, iter 10/391, eta 0:12:34, loss 2.3
    xe (train) | val epoch 1, iter 40/40, lt/top1 17.2
    XE (test) | iter 4/4, balanced/lt/top1 40.1

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


def progress_line(label: str,
                  line: str,
                  max_epochs: Optional[int] = None) -> Optional[str]:
    """The status line of tool output ``line`` for step ``label`` (e.g.
    ``'xe (train)'``); None for a line that is no progress line.

    A training line gives epoch (of ``max_epochs``), iteration, ETA and
    loss; the line closing a validation or test gives its first metric.
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
        shown = fields[:1]  # the end of a val / test: its first metric
    parts += [f'{key} {value}' for key, value in shown]
    head = '' if mode in ('train', 'test') else f'{mode} '
    return f'{label} | {head}' + ', '.join(parts)
