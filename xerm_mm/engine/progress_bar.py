"""A progress bar for one pass over a test set (main process only)."""
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from mmengine.dist import is_main_process


def progress_bar_enabled(setting: Optional[bool]) -> bool:
    """Whether to show a bar: ``setting``, or by default on a terminal.

    Args:
        setting (bool, optional): True: always (on a file or pipe the bar is
            written once, when the set is done); False: never; None: only
            when stdout is a terminal, so that logs stay one line per event.

    Returns:
        bool: False on every process but the main one.
    """
    if not is_main_process():
        return False
    if setting is None:
        return sys.stdout.isatty()
    return bool(setting)


@contextmanager
def batch_progress(description: str, total: int,
                 enabled: bool) -> Iterator[Callable[[], None]]:
    """Yield a function that advances a rich progress bar by one batch.

    On a terminal the bar redraws in place; on a file or a pipe rich writes
    its final state once, when the context ends (no flood of redraws).

    Args:
        description (str): Shown left of the bar (the test set's name).
        total (int): Number of batches.
        enabled (bool): False: yield a function that does nothing.
    """
    if not enabled:
        yield lambda: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    columns = (TextColumn('{task.description}'), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)
