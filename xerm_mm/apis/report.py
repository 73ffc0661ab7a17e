"""The report of an experiment: the paper's Tables 1 and 4 from the
evaluations' metrics, as ``report.json`` and ``report.md`` (written
atomically), with the checkpoint each row came from and what every step
cost (see :mod:`xerm_mm.apis.cost`)."""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional

from xerm_mm.utils.atomic import atomic_write

from xerm_mm.evaluation.report import GROUP_COLUMNS, markdown_table
from xerm_mm.evaluation.summary import summarize_tables
from .cost import cost_table


def build_report(results: Dict[str, Dict[str, dict]],
                 balanced_set: str = 'balanced',
                 checkpoints: Optional[Dict[str, dict]] = None,
                 cost: Optional[Dict[str, Dict[str, Optional[dict]]]] = None
                 ) -> dict:
    """Paper-shaped tables from ``{method: {test set: metrics}}``.

    ``table1``: per method, top-1 and the many / medium / few recall,
    precision and F1 on the balanced test set. ``table4``: per method, top-1
    on every test set (balanced and imbalanced). ``checkpoints``: per
    method, the evaluated checkpoint (``dict(file=..., sha256=...)``).
    ``cost``: ``dict(stages={name: cost}, evaluations={name: cost})``, what
    each step cost when it ran (None: not recorded).
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
    return OrderedDict(
        table1=table1,
        table4=table4,
        results=results,
        checkpoints=OrderedDict(checkpoints or {}),
        cost=cost or dict(stages={}, evaluations={}))


def write_report(report: dict, work_dir: str, title: str = 'xERM') -> str:
    """Write ``report.json`` and ``report.md`` in ``work_dir`` (each
    atomically: complete or not there); return the Markdown."""
    with atomic_write(osp.join(work_dir, 'report.json')) as f:
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
    if report.get('checkpoints'):
        lines += ['## Checkpoints evaluated', '',
                  '| method | checkpoint | sha256 |', '|---|---|---|']
        lines += [
            f'| {method} | {ckpt["file"]} | {ckpt["sha256"][:12]} |'
            for method, ckpt in report['checkpoints'].items()
        ] + ['']
    if any(report.get('cost', {}).values()):
        lines += ['## Cost', ''] + cost_table(report['cost']) + [
            '', 'Wall time: of the tool process, start-up, data, validation '
            'and checkpoints included. images/s: training images (iterations '
            'x batch x processes) over the training iterations\' time, data '
            'loading included. Peak RSS: of the largest process of the tool; '
            'peak CUDA: torch.cuda.max_memory_allocated as MMEngine logs it '
            '(rank 0).', ''
        ]
    lines += ['## What the tables show', '',
              ' '.join(summarize_tables(report['table1'], report['table4'])),
              '']
    markdown = '\n'.join(lines)
    with atomic_write(osp.join(work_dir, 'report.md')) as f:
        f.write(markdown)
    return markdown
