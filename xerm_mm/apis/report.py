"""The report of an experiment: the paper's Tables 1 and 4 from the
evaluations' metrics, as ``report.json`` and ``report.md``."""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict

from xerm_mm.evaluation.report import GROUP_COLUMNS, markdown_table


def build_report(results: Dict[str, Dict[str, dict]],
                 balanced_set: str = 'balanced') -> dict:
    """Paper-shaped tables from ``{method: {test set: metrics}}``.

    ``table1``: per method, top-1 and the many / medium / few recall,
    precision and F1 on the balanced test set. ``table4``: per method, top-1
    on every test set (balanced and imbalanced).
    """
    table1 = OrderedDict()
    table4 = OrderedDict()
    for method, sets in results.items():
        if balanced_set in sets:
            row = sets[balanced_set]
            table1[method] = OrderedDict(
                [('top1', row.get('top1'))] +
                [(key, row.get(key)) for key in GROUP_COLUMNS])
        table4[method] = OrderedDict(
            (name, row.get('top1')) for name, row in sets.items())
    return OrderedDict(table1=table1, table4=table4, results=results)


def write_report(report: dict, work_dir: str, title: str = 'xERM') -> str:
    """Write ``report.json`` and ``report.md`` in ``work_dir``; return md."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(report, f, indent=1)
    sets = []
    for row in report['table4'].values():
        sets += [name for name in row if name not in sets]
    lines = [
        f'# {title}', '',
        '## Balanced test set: top-1 and per group recall / precision / F1 '
        '(Table 1)', '',
        markdown_table(report['table1'], first='method'), '',
        '## Top-1 on every test set (Table 4: imbalanced test sets)', '',
        markdown_table(report['table4'], columns=sets, first='method'), '',
        'Values in percent. Groups by training images per class: many > 100, '
        'medium 20-100, few < 20 (or the thresholds of the config). F1: the '
        'mean of the per-class F1 over the group; precision: a never-'
        'predicted class counts as 0 (LongTailMetric defaults).', ''
    ]
    markdown = '\n'.join(lines)
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write(markdown)
    return markdown
