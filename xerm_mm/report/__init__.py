"""The report of an experiment: tables, sentences and pictures from metrics.

It turns evaluation records (the metrics ``tools/test.py`` writes, the
checkpoints' and steps' records) into ``report.json`` and ``report.md``;
nothing in it runs a step. See docs/methods.md and docs/analysis.md.
"""
from .cost import cost_table, runs_wall_time, training_throughput
from .figures import draw_report_figures
from .merge import merge_reports, read_report
from .metrics import markdown_table, split_by_test_set, write_metrics_json
from .spec import check_report_spec
from .summary import summarize_tables
from .tables import build_report, write_report

__all__ = [
    'build_report', 'write_report', 'check_report_spec', 'summarize_tables',
    'draw_report_figures', 'cost_table', 'runs_wall_time',
    'training_throughput', 'merge_reports', 'read_report', 'markdown_table',
    'split_by_test_set', 'write_metrics_json'
]
