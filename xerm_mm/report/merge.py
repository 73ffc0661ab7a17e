"""One table from the ``report.json`` of several runs (docs/analysis.md).

Methods keep the order met; a method met again from the same checkpoint
with the same numbers (a stage reused by several pipelines) is one row, the
same name for another model an error until renamed.
"""
import json
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Tuple


def read_report(path: str) -> dict:
    """A pipeline's ``report.json``, checked to hold its two tables.

    Raises:
        ValueError: Not JSON, or no ``table1`` / ``table4`` (not a report
            of ``tools/run_pipeline.py``).
    """
    try:
        with open(path) as f:
            report = json.load(f)
    except ValueError as error:
        raise ValueError(f'{path}: not JSON ({error})') from None
    if not isinstance(report, dict) or not all(
            isinstance(report.get(key), dict) for key in ('table1',
                                                          'table4')):
        raise ValueError(
            f'{path}: no table1 / table4: give the report.json that '
            'tools/run_pipeline.py writes in its work dir')
    return report


def merge_reports(reports: Sequence[Tuple[str, dict]],
                  renames: Mapping[Tuple[int, str], str] = None
                  ) -> Dict[str, dict]:
    """``{method: dict(top1={set: value}, balanced={metric: value},
    report=path, checkpoint=sha256)}`` over ``reports`` (``(path, report)``
    pairs, in order).

    Args:
        reports: The reports, each with the path it was read from.
        renames: ``{(report index, method): new name}``.

    Raises:
        ValueError: One name for two different models (checkpoint or
            numbers), after the renames.
    """
    renames = renames or {}
    rows: Dict[str, dict] = OrderedDict()
    for index, (path, report) in enumerate(reports):
        checkpoints = report.get('checkpoints') or {}
        for method, top1 in report['table4'].items():
            name = renames.get((index, method), method)
            row = dict(
                top1=OrderedDict(top1),
                balanced=OrderedDict(report['table1'].get(method) or {}),
                report=path,
                checkpoint=(checkpoints.get(method) or {}).get('sha256'))
            seen = rows.get(name)
            if seen is None:
                rows[name] = row
                continue
            same = (seen['checkpoint'] == row['checkpoint']
                    and seen['top1'] == row['top1'])
            if not same:
                raise ValueError(
                    f'{name!r} of {path} is another model than {name!r} of '
                    f"{seen['report']} (checkpoint or top-1 differ): give "
                    f'one of them another name, e.g. --rename {index} '
                    f'{method} {method}-2')
    return rows


def table_rows(rows: Mapping[str, dict], sets: Sequence[str],
               balanced_columns: Sequence[str] = ()) -> Tuple[
                   Dict[str, dict], List[str]]:
    """(``{method: {column: value}}``, columns) for
    :func:`~xerm_mm.report.metrics.markdown_table`: the balanced set's
    ``balanced_columns`` (e.g. ``few_recall``), then top-1 on ``sets``
    (a set a method was not tested on: None)."""
    columns = list(balanced_columns) + list(sets)
    table = OrderedDict()
    for method, row in rows.items():
        values = OrderedDict(
            (column, row['balanced'].get(column)) for column in
            balanced_columns)
        values.update((name, row['top1'].get(name)) for name in sets)
        table[method] = values
    return table, columns
