"""Long-tail metrics as rows: per test set or method, in Markdown or JSON.

``tools/test.py`` writes its metrics (``{test set}/lt/{metric}`` keys) with
:func:`write_metrics_json`; :func:`split_by_test_set` reads them back as
one row per test set, and :func:`markdown_table` prints rows of any such
table (the report's, the analysis tools').
"""
import json
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence

from xerm_mm.utils.atomic import atomic_write

GROUP_COLUMNS = [
    f'{group}_{kind}' for kind in ('recall', 'precision', 'f1')
    for group in ('many', 'medium', 'few')
]
COLUMNS = ['top1'] + GROUP_COLUMNS


def split_by_test_set(metrics: Dict[str, object],
                      prefix: str = 'lt') -> 'OrderedDict[str, dict]':
    """``{'balanced/lt/top1': v, ...}`` -> ``{'balanced': {'top1': v}}``.

    Keys without a test-set part (a plain TestLoop) go under ``'test'``.
    """
    rows: 'OrderedDict[str, dict]' = OrderedDict()
    for key, value in metrics.items():
        parts = key.split('/')
        if prefix not in parts:
            continue
        i = parts.index(prefix)
        name = '/'.join(parts[:i]) or 'test'
        rows.setdefault(name, OrderedDict())['/'.join(parts[i + 1:])] = value
    return rows


def column_names(rows: Mapping[str, Mapping],
                 order: Sequence[str] = ()) -> List[str]:
    """The columns of ``rows``: those in ``order`` first, in that order,
    then the others as the rows bring them."""
    found: List[str] = []
    for row in rows.values():
        found += [name for name in row if name not in found]
    return [n for n in order if n in found] + [
        n for n in found if n not in order]


def _cell(value, digits: int = 2) -> str:
    """``digits`` decimals; '-' for a missing value or an empty group
    (NaN)."""
    if isinstance(value, (int, float)) and value == value:
        return f'{value:.{digits}f}'
    return '-'


def markdown_table(rows: Dict[str, dict],
                   columns: Sequence[str] = COLUMNS,
                   first: str = 'test set',
                   digits: int = 2) -> str:
    """A Markdown table: one row per entry of ``rows``, values in percent
    with ``digits`` decimals."""
    lines: List[str] = [
        '| ' + ' | '.join([first] + list(columns)) + ' |',
        '|' + '---|' * (len(columns) + 1),
    ]
    for name, row in rows.items():
        cells = [_cell(row.get(column), digits) for column in columns]
        lines.append('| ' + ' | '.join([name] + cells) + ' |')
    return '\n'.join(lines)


def _to_builtin(value):
    """JSON fallback for numpy and torch values."""
    return value.tolist() if hasattr(value, 'tolist') else str(value)


def write_metrics_json(metrics: Dict[str, object], path: str) -> None:
    """Write ``metrics`` (numpy / torch values too) to the JSON file ``path``.

    The folder is created if needed. The file is written atomically: a
    failure half-way leaves no truncated file under ``path``.
    """
    with atomic_write(path) as f:
        json.dump(metrics, f, indent=1, default=_to_builtin)
