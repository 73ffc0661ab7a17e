"""The pictures of a report, drawn from its metrics (docs/analysis.md).

No model runs: the prediction histograms come from the evaluations'
per-class counts, the unbiasedness curve from ``table4``, drawn by
:mod:`xerm_mm.analysis` under ``{work_dir}/figures/`` (PNG, PDF, JSON), each
with the tool command that redraws it. A picture that cannot be drawn is a
warning in the report, never a lost table.
"""
import os.path as osp
import shlex
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence

from .metrics import column_names

#: The folder of the pictures, under the work dir (the report's links are
#: relative to it).
FIGURES_DIR = 'figures'
#: The file names of the sweep tool's figure and of the report's curve.
SWEEP_NAME = 'distribution_sweep'
CURVE_NAME = 'unbiasedness_curve'
_TOOLS = 'tools/analysis_tools'


def _command(tool: str, args: Sequence[str]) -> str:
    """The shell command, an option (and its values) per line."""
    lines = [['python', f'{_TOOLS}/{tool}.py']]
    for arg in map(str, args):
        if arg.startswith('--'):
            lines.append([])
        lines[-1].append(arg)
    return ' \\\n    '.join(shlex.join(line) for line in lines)


def _test_sets(report: dict) -> tuple:
    """``(sets, left_out)``: the test sets of ``table4`` in sweep order
    (:class:`~xerm_mm.analysis.SweepSet`) and the names of no known
    profile."""
    from xerm_mm.analysis.sweep_sets import sets_of_names
    return sets_of_names(column_names(report['table4']),
                         report['balanced_set'],
                         report.get('backward_sets', ()))


def _histogram(report: dict, work_dir: str, test_set: str,
               imbalanced: Optional[str]) -> dict:
    """Draw one histogram figure; its entry (files, command)."""
    from xerm_mm.analysis import prediction_histogram_figure, save_figure
    from xerm_mm.analysis.metrics_file import PER_CLASS_KEYS
    name = f'prediction_histogram_{test_set}'
    files = (report.get('sources') or {}).get('metrics_files') or {}
    out_dir = osp.join(work_dir, FIGURES_DIR)
    entry = dict(name=name, test_set=test_set, imbalanced_set=imbalanced,
                 command=None)
    if files and set(files) >= set(report['results']):
        args = []
        for method in report['results']:
            args += ['--model', method, files[method]]
        args += ['--test-set', test_set]
        if imbalanced is not None:
            args += ['--imbalanced-set', imbalanced]
        entry['command'] = _command('prediction_histogram', args + [
            '--out-dir', out_dir, '--name', name])
    for method, sets in report['results'].items():
        for set_name in filter(None, (test_set, imbalanced)):
            missing = [k for k in PER_CLASS_KEYS
                       if k not in sets.get(set_name, {})]
            if missing:
                raise KeyError(f'{method} has no {missing} on {set_name!r} '
                               '(metrics of an older tools/test.py, or no '
                               'LongTailMetric)')
    fig, numbers = prediction_histogram_figure(report['results'], test_set,
                                               imbalanced, files)
    entry['files'] = save_figure(fig, numbers, out_dir, name)
    return entry


def _sweep_ratios(sets) -> List[float]:
    """The pipeline's ratios and the sweep's default ones, distinct."""
    from xerm_mm.analysis.sweep_sets import DEFAULT_RATIOS
    ratios = [s.imbalance_ratio for s in sets if s.imbalance_ratio != 1]
    return sorted(set(ratios) | set(DEFAULT_RATIOS), reverse=True)


def _sweep_command(report: dict, work_dir: str, sets) -> Optional[str]:
    """The distribution_sweep.py command over the evaluated checkpoints."""
    sources = report.get('sources') or {}
    configs = sources.get('configs') or {}
    checkpoints = report.get('checkpoints') or {}
    methods = list(report['table4'])
    if not all(m in configs and m in checkpoints for m in methods):
        return None
    args = []
    for method in methods:
        args += ['--model', method, configs[method],
                 checkpoints[method]['file']]
    args += ['--ratios', *(f'{r:g}' for r in _sweep_ratios(sets))]
    if sources.get('data_root'):
        args += ['--data-root', sources['data_root']]
    if sources.get('cfg_options'):
        args += ['--cfg-options', *sources['cfg_options']]
    # An evaluation's own options (e.g. RIDE's imbalanced view, a post-hoc
    # stage's chosen tau or alpha).
    for method in methods:
        own = (sources.get('options') or {}).get(method)
        if own:
            args += ['--model-options', method, *own]
    return _command(SWEEP_NAME, args + [
        '--work-dir', osp.join(work_dir, 'sweep'), '--out-dir',
        osp.join(work_dir, FIGURES_DIR), '--name', SWEEP_NAME])


def _curve(report: dict, work_dir: str) -> dict:
    """Draw the unbiasedness curve of ``table4``; its entry."""
    from xerm_mm.analysis import draw_sweep_curve, save_figure
    table4 = report['table4']
    sets, left_out = _test_sets(report)
    # Only the sets every method has a number on.
    sets = [s for s in sets if all(
        isinstance(row.get(s.name), (int, float)) for row in table4.values())]
    entry = dict(name=CURVE_NAME, left_out=left_out,
                 command=_sweep_command(report, work_dir, sets))
    if len(sets) < 2:
        raise ValueError(
            f'{len(sets)} test set(s) with the top-1 of every method among '
            f'{column_names(table4)}; a curve needs two (sets named '
            f"ib{{r}}, ib{{r}}_bwd or {report['balanced_set']!r})")
    top1 = OrderedDict((method, OrderedDict((s.name, row[s.name])
                                            for s in sets))
                       for method, row in table4.items())
    numbers = OrderedDict(
        source='report.json table4',
        test_sets=[s._asdict() for s in sets],
        models=OrderedDict((m, OrderedDict(top1=v, mean_top1=sum(
            v.values()) / len(v))) for m, v in top1.items()))
    entry['files'] = save_figure(draw_sweep_curve(sets, top1), numbers,
                                 osp.join(work_dir, FIGURES_DIR), CURVE_NAME)
    return entry


def _attempt(draw, *args, name: str) -> dict:
    """``draw(*args)``'s entry, or one with the error (the report goes
    on)."""
    try:
        return draw(*args)
    except Exception as error:  # noqa: BLE001 (a picture never loses it)
        return dict(name=name, command=None,
                    error=f'{type(error).__name__}: {error}')


def draw_report_figures(report: dict, work_dir: str) -> Dict[str, list]:
    """Draw the report's figures in ``{work_dir}/figures``.

    Returns:
        dict: ``{section: [entry]}``, the sections ``balanced`` (the
        balanced set's histogram) and ``imbalanced`` (the first forward
        set's histogram and the curve); an entry has ``name``, ``files``
        (``{'png': .., 'pdf': .., 'json': ..}``) and ``command`` (None when
        the report does not record its sources), or ``error``.
    """
    balanced = report['balanced_set']
    forward = [s.name for s in _test_sets(report)[0]
               if s.imbalance_ratio != 1 and not s.reverse]
    first = forward[0] if forward else None
    sections = OrderedDict(balanced=[], imbalanced=[])
    name = f'prediction_histogram_{balanced}'
    sections['balanced'].append(_attempt(
        _histogram, report, work_dir, balanced, first, name=name))
    if first is not None:
        sections['imbalanced'].append(_attempt(
            _histogram, report, work_dir, first, first,
            name=f'prediction_histogram_{first}'))
    sections['imbalanced'].append(_attempt(_curve, report, work_dir,
                                           name=CURVE_NAME))
    return sections


_CAPTIONS = dict(
    prediction_histogram=('Predicted (bars) against true (line) images per '
                          'class on {test_set}, classes from the most to '
                          'the least trained; below, true / false '
                          'positives per group'),
    unbiasedness_curve=('Top-1 against the test distribution: forward long '
                        'tails (largest IB left), balanced, backward ones; '
                        'flat is unbiased'),
)


def figure_markdown(entries: Sequence[Mapping], work_dir: str) -> List[str]:
    """Markdown lines of a section's figures: each picture (linked
    relative to ``work_dir``) with the command that redraws it, or a
    warning."""
    lines: List[str] = []
    for entry in entries:
        if entry.get('error'):
            lines += [f"> **Warning:** figure `{entry['name']}` was not "
                      f"drawn: {entry['error']}", '']
            continue
        kind = ('unbiasedness_curve' if entry['name'] == CURVE_NAME else
                'prediction_histogram')
        caption = _CAPTIONS[kind].format(test_set=entry.get('test_set'))
        png = osp.relpath(entry['files']['png'], work_dir)
        stem = osp.splitext(png)[0]
        lines += [f"![{entry['name']}]({png})", '',
                  f'*{caption}.* PDF and numbers: `{stem}.pdf`, '
                  f'`{stem}.json`.']
        if entry.get('left_out'):
            lines[-1] += (' Test sets of no known profile, not drawn: '
                          f"{', '.join(entry['left_out'])}.")
        if entry['command']:
            what = ('Tests every model again on forward, balanced and '
                    'backward sets (its top-1 on the sets above equals '
                    "these, tools/test.py's), extending the curve:"
                    if kind == 'unbiasedness_curve' else
                    'Redraw it from the metrics files:')
            lines += ['', what, '', '```bash', entry['command'], '```']
        lines.append('')
    return lines
