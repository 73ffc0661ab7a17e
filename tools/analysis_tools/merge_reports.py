"""One comparison table from several pipeline runs' reports:
``python tools/analysis_tools/merge_reports.py W1/report.json W2/report.json
... [--sets balanced ib100] [--methods XE XE-2x ...]``.

Each run of ``tools/run_pipeline.py`` writes ``report.json`` in its work
dir. This tool prints one Markdown table of top-1 (in %) per method over
them, on the test sets of ``--sets`` (default: those of the first report),
optionally with balanced-set columns (``--balanced-columns few_recall``),
the methods in the order of ``--methods`` (default: every method, in the
order met). A method in several reports from the same checkpoint with the
same numbers (a stage reused by several pipelines) is one row; one name for
two different models is an error (``--rename INDEX METHOD NEW`` names one:
INDEX counts the reports from 0). ``--out FILE.json`` also writes the rows
with the report each came from.
"""
import argparse
import json
from collections import OrderedDict

from xerm_mm.report import markdown_table, merge_reports, read_report
from xerm_mm.report.merge import table_rows
from xerm_mm.utils.atomic import atomic_write


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='One top-1 table over the report.json of several '
        'pipeline runs')
    parser.add_argument('reports', nargs='+', help='report.json files')
    parser.add_argument(
        '--sets', nargs='+',
        help='test sets, as columns (default: the first report\'s)')
    parser.add_argument(
        '--balanced-columns', nargs='*', default=[],
        help='columns of the balanced-set table first (e.g. few_recall)')
    parser.add_argument(
        '--methods', nargs='+',
        help='the rows, in this order (default: every method)')
    parser.add_argument(
        '--rename', nargs=3, action='append', default=[],
        metavar=('INDEX', 'METHOD', 'NEW'),
        help='call METHOD of the INDEX-th report (from 0) NEW')
    parser.add_argument('--out', help='also write the rows as JSON here')
    args = parser.parse_args(argv)
    renames = {}
    for index, method, new in args.rename:
        if not index.isdigit() or int(index) >= len(args.reports):
            parser.error(f'--rename {index} {method} {new}: INDEX must be '
                         f'0..{len(args.reports) - 1} (a report)')
        renames[(int(index), method)] = new
    args.rename = renames
    return args


def main(argv=None):
    args = parse_args(argv)
    reports = [(path, read_report(path)) for path in args.reports]
    rows = merge_reports(reports, args.rename)
    if args.methods:
        missing = [m for m in args.methods if m not in rows]
        if missing:
            raise KeyError(f'--methods: {missing} in none of the reports '
                           f'(methods: {", ".join(rows)})')
        rows = OrderedDict((m, rows[m]) for m in args.methods)
    sets = args.sets or list(next(iter(reports[0][1]['table4'].values()),
                                  {}))
    table, columns = table_rows(rows, sets, args.balanced_columns)
    text = markdown_table(table, columns, first='method')
    print(text)
    if args.out:
        with atomic_write(args.out) as f:
            json.dump(dict(columns=columns, rows=rows), f, indent=1)
    return table


if __name__ == '__main__':
    main()
