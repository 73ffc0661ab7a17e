"""The report's tables from the evaluations' metrics: report.json, report.md.

:func:`build_report` makes the paper-shaped tables (``table1``: the
balanced test set; ``table4``: top-1 on every test set) with the checkpoint
of each row, the cost records and the paper's numbers; :func:`write_report`
writes both files atomically, with the pictures and the sentences of the
other modules of :mod:`xerm_mm.report` (docs/methods.md).
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from xerm_mm.utils.atomic import atomic_write
from .cost import cost_table
from .figures import draw_report_figures, figure_markdown
from .metrics import GROUP_COLUMNS, column_names, markdown_table
from .spec import DEFAULT_TABLES
from .summary import students_of, summarize_tables


def _tables(results: Dict[str, Dict[str, dict]], balanced_set: str,
            columns: List[str]) -> tuple:
    """``table1`` (the balanced set's ``columns``; a method without the
    balanced set is left out) and ``table4`` (top-1 on every set)."""
    table1 = OrderedDict()
    table4 = OrderedDict()
    for method, sets in results.items():
        if balanced_set in sets:
            row = sets[balanced_set]
            table1[method] = OrderedDict(
                (key, row.get(key)) for key in columns)
        table4[method] = OrderedDict(
            (name, row.get('top1')) for name, row in sets.items())
    return table1, table4


def _paper_tables(paper: dict, balanced_set: str) -> dict:
    """The paper's numbers in the shape of ours, only what it reports."""
    results = paper['results']
    columns = [key for key in ['top1'] + GROUP_COLUMNS if any(
        key in sets.get(balanced_set, {}) for sets in results.values())]
    table1, table4 = _tables(results, balanced_set, columns)
    table4 = OrderedDict(
        (method, OrderedDict((s, v) for s, v in row.items() if v is not None))
        for method, row in table4.items())
    return OrderedDict(source=paper['source'], table1=table1,
                       table4=OrderedDict((m, r) for m, r in table4.items()
                                          if r))


def build_report(results: Dict[str, Dict[str, dict]],
                 balanced_set: str = 'balanced',
                 checkpoints: Optional[Dict[str, dict]] = None,
                 cost: Optional[Dict[str, Dict[str, Optional[dict]]]] = None,
                 tables: Optional[Dict[str, Optional[str]]] = None,
                 paper: Optional[dict] = None,
                 backward_sets: Sequence[str] = (),
                 sources: Optional[dict] = None,
                 baseline: str = 'XE') -> dict:
    """Paper-shaped tables from ``{method: {test set: metrics}}``.

    ``table1``: per method, top-1 and the many / medium / few recall,
    precision and F1 on the balanced test set. ``table4``: per method, top-1
    on every test set (balanced and imbalanced). ``checkpoints``: per
    method, the evaluated checkpoint (``dict(file=..., sha256=...)``).
    ``cost``: ``dict(stages={name: cost}, evaluations={name: cost})``, what
    each step cost when it ran (None: not recorded). ``tables``: the
    paper's table of each section (``dict(balanced=, imbalanced=)``,
    default Tables 1 and 4). ``paper``: ``dict(source=, results={method:
    {test set: metrics}})``, the paper's numbers, kept as ``paper`` with
    ``table1`` and ``table4`` of what it reports. ``backward_sets``: the
    imbalanced test sets of the backward profile, which the summary leaves
    out of XE's mean (head bias shows on the forward ones). ``sources``:
    where the numbers came from, for the commands that redraw the figures:
    ``dict(metrics_files={method: file}, configs={method: test config},
    options={method: [its own key=value, ...]}, data_root=,
    cfg_options=[...])`` (missing: the figures come without commands).
    ``baseline``: the imbalanced (head-biased) model's method name, which
    the summary compares the others with.
    """
    table1, table4 = _tables(results, balanced_set, ['top1'] + GROUP_COLUMNS)
    report = OrderedDict(
        table1=table1,
        table4=table4,
        results=results,
        checkpoints=OrderedDict(checkpoints or {}),
        cost=cost or dict(stages={}, evaluations={}),
        balanced_set=balanced_set,
        tables=OrderedDict(DEFAULT_TABLES, **(tables or {})),
        backward_sets=list(backward_sets),
        sources=sources or {},
        baseline=baseline)
    if paper:
        report['paper'] = _paper_tables(paper, balanced_set)
    return report


def _heading(text: str, table: Optional[str], what: str = '') -> str:
    """``## text (Table N: what)``; without a paper table ``## text``."""
    if table is None:
        return f'## {text}'
    return f'## {text} ({table}{": " + what if what else ""})'


def _paper_block(report: dict, section: str, columns: List[str],
                 tables: List[Optional[str]]) -> List[str]:
    """The paper's table of a section (only what it reports), or nothing."""
    paper = report.get('paper') or {}
    rows = paper.get(section)
    if not rows:
        return []
    names = ' and '.join(t for t in dict.fromkeys(tables) if t)
    where = f'{paper["source"]}, {names}' if names else paper['source']
    return [f"The paper's numbers ({where}), as published:", '',
            markdown_table(rows, columns=columns, first='method', digits=1),
            '']


def write_report(report: dict,
                 work_dir: str,
                 title: str = 'xERM',
                 figures: bool = True) -> str:
    """Write ``report.json`` and ``report.md`` in ``work_dir`` (each
    atomically: complete or not there); return the Markdown.

    The sections name the paper's tables of ``report['tables']`` (default
    Tables 1 and 4) and show ``report['paper']``'s numbers under ours. With
    ``figures``, the tables are written first, then the pictures are drawn
    in ``{work_dir}/figures`` and both files written again with them
    (``report.json``'s ``figures``: per section, each picture's files and
    command, or its error).
    """
    _write(report, work_dir, _markdown(report, title, {}))
    if not figures:
        return _markdown(report, title, {})
    try:
        sections = draw_report_figures(report, work_dir)
    except Exception as error:  # noqa: BLE001 (the tables are kept)
        sections = dict(balanced=[dict(
            name='figures', error=f'{type(error).__name__}: {error}')])
    markdown = _markdown(report, title, sections, work_dir)
    _write(dict(report, figures=sections), work_dir, markdown)
    return markdown


def _write(report: dict, work_dir: str, markdown: str) -> None:
    """``report.json``, then ``report.md``, each atomically."""
    with atomic_write(osp.join(work_dir, 'report.json')) as f:
        json.dump(report, f, indent=1)
    with atomic_write(osp.join(work_dir, 'report.md')) as f:
        f.write(markdown)


def _markdown(report: dict, title: str, sections: Dict[str, list],
              work_dir: str = '') -> str:
    """The Markdown of ``report``, each section's figures after its
    tables."""
    tables = report.get('tables') or DEFAULT_TABLES
    balanced_set = report.get('balanced_set', 'balanced')
    paper = report.get('paper') or {}
    sets = column_names(report['table4'])
    paper_sets = column_names(paper.get('table4', {}), sets)
    paper_columns = list(next(iter(paper.get('table1', {}).values()), {}))
    lines = [
        f'# {title}', '',
        _heading('Balanced test set: top-1 and per group recall / precision '
                 '/ F1', tables['balanced']), '',
        markdown_table(report['table1'], first='method'), ''
    ] + _paper_block(report, 'table1', paper_columns, [tables['balanced']]) + (
        figure_markdown(sections.get('balanced', ()), work_dir)) + [
        _heading('Top-1 on every test set', tables['imbalanced'],
                 'imbalanced test sets'), '',
        markdown_table(report['table4'], columns=sets, first='method'), ''
    ] + _paper_block(report, 'table4', paper_sets, [
        tables['balanced']
    ] * (balanced_set in paper_sets) + [tables['imbalanced']]) + [
        'Values in percent. Groups by training images per class: many > 100, '
        'medium 20-100, few < 20 (or the thresholds of the config). F1: the '
        'mean of the per-class F1 over the group; precision: a never-'
        'predicted class counts as 0 (LongTailMetric defaults).' + (
            " The paper's precision leaves such classes out of the average "
            "(the authors' code)." if any(
                c.endswith('_precision') for c in paper_columns) else ''), ''
    ] + figure_markdown(sections.get('imbalanced', ()), work_dir)
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
            'and checkpoints included (a resumed training: its runs from the '
            'first to the last line of their logs, summed). images/s: '
            'training images (iterations x batch x processes) over the '
            'training iterations\' time, data loading included. Peak RSS: '
            'of the largest process of the tool; peak CUDA: '
            'torch.cuda.max_memory_allocated as MMEngine logs it (rank 0).',
            ''
        ]
    lines += ['## What the tables show', '',
              ' '.join(summarize_tables(
                  report['table1'], report['table4'], balanced_set,
                  xe=report.get('baseline', 'XE'),
                  students=students_of(report['table4']),
                  imbalanced=[s for s in sets if s != balanced_set and s
                              not in report.get('backward_sets', ())])),
              '']
    return '\n'.join(lines)
