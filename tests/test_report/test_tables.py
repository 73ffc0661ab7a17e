"""xerm_mm.report.tables: the report's tables (report.json, report.md)
from evaluation records, the paper's numbers beside ours."""
import json

import pytest

from xerm_mm.report import build_report, check_report_spec, write_report

OURS = {
    'XE': {'balanced': dict(top1=40.0, few_recall=5.0),
           'ib50': dict(top1=60.0), 'ib50_bwd': dict(top1=20.0)},
    'TDE': {'balanced': dict(top1=45.0, few_recall=20.0),
            'ib50': dict(top1=55.0), 'ib50_bwd': dict(top1=35.0)},
}
PAPER = dict(source='Zhu et al., AAAI 2022', results=dict(
    XE=dict(balanced=dict(top1=49.0), ib50=dict(top1=67.7)),
    TDE=dict(balanced=dict(top1=51.8), ib50=dict(top1=63.0)),
    PC=dict(balanced=dict(top1=48.9))))
BALANCED = ('## Balanced test set: top-1 and per group recall / precision / '
            'F1 ({})')
EVERY = '## Top-1 on every test set ({}: imbalanced test sets)'


def tables_only(report, work_dir, **kwargs) -> str:
    """``write_report`` without the pictures (drawn in test_figures.py)."""
    return write_report(report, str(work_dir), figures=False, **kwargs)


def test_tables_of_the_records():
    checkpoints = {m: dict(file=f'{m}.pth', sha256=m * 32) for m in OURS}
    report = build_report(OURS, checkpoints=checkpoints)
    assert list(report['table1']) == ['XE', 'TDE']
    assert report['table1']['XE']['top1'] == 40.0
    assert report['table1']['XE']['few_recall'] == 5.0
    assert report['table1']['XE']['many_recall'] is None  # not measured
    assert report['table4']['TDE'] == dict(balanced=45.0, ib50=55.0,
                                           ib50_bwd=35.0)
    assert report['checkpoints'] == checkpoints
    assert report['tables'] == dict(balanced='Table 1', imbalanced='Table 4')
    assert report['cost'] == dict(stages={}, evaluations={})
    assert 'paper' not in report
    # A method not tested on the balanced set is in table4 only.
    report = build_report(dict(OURS, RIDE={'ib50': dict(top1=70.0)}))
    assert 'RIDE' not in report['table1']
    assert report['table4']['RIDE'] == dict(ib50=70.0)


def test_written_files(tmp_path):
    checkpoints = {m: dict(file=f'w/{m}.pth', sha256='ab' * 32) for m in OURS}
    report = build_report(OURS, checkpoints=checkpoints)
    markdown = tables_only(report, tmp_path, title='p.py')
    assert markdown.startswith('# p.py\n')
    assert (tmp_path / 'report.md').read_text() == markdown
    saved = json.loads((tmp_path / 'report.json').read_text())
    assert saved == json.loads(json.dumps(report))
    assert BALANCED.format('Table 1') in markdown
    assert EVERY.format('Table 4') in markdown
    assert '| XE | 40.00 | - | - | 5.00 |' in markdown  # top1, many.., few
    assert '| method | balanced | ib50 | ib50_bwd |' in markdown
    assert '| TDE | 45.00 | 55.00 | 35.00 |' in markdown
    assert '| XE | w/XE.pth | abababababab |' in markdown
    assert '## Cost' not in markdown  # no cost recorded
    assert '(Table' not in markdown.split(EVERY.format('Table 4'))[1]


def test_cost_section(tmp_path):
    cost = dict(stages=dict(xe=dict(device='cpu', processes=1, wall_s=3.0)),
                evaluations=dict(XE=None))
    markdown = tables_only(build_report(OURS, cost=cost), tmp_path)
    section = markdown.split('## Cost\n')[1]
    assert section.startswith('\n| step | device |')
    assert '| xe (train) | cpu | 1 | 3.0 | - | - | - |' in section
    assert '| total | | | 3.0 | | | |' in section


def test_paper_tables_and_numbers_beside_ours(tmp_path):
    spec = check_report_spec(dict(
        title='xERM on ImageNet-LT', paper=PAPER,
        tables=dict(balanced='Table 2', imbalanced='Table 5')), 'p.py')
    report = build_report(OURS, tables=spec['tables'], paper=spec['paper'])
    assert report['tables'] == dict(balanced='Table 2', imbalanced='Table 5')
    paper = report['paper']
    assert paper['table1'] == dict(XE=dict(top1=49.0), TDE=dict(top1=51.8),
                                   PC=dict(top1=48.9))
    assert paper['table4']['TDE'] == dict(balanced=51.8, ib50=63.0)
    markdown = tables_only(report, tmp_path, title=spec['title'])
    assert markdown.startswith('# xERM on ImageNet-LT\n')
    lines = markdown.splitlines()
    first = lines.index(BALANCED.format('Table 2'))
    second = lines.index(EVERY.format('Table 5'))
    balanced = lines[first:second]
    assert "The paper's numbers (Zhu et al., AAAI 2022, Table 2), as " \
        'published:' in balanced
    assert '| method | top1 |' in balanced and '| PC | 48.9 |' in balanced
    every = lines[second:]
    assert '| method | balanced | ib50 | ib50_bwd |' in every  # ours
    assert "The paper's numbers (Zhu et al., AAAI 2022, Table 2 and " \
        'Table 5), as published:' in every
    assert '| method | balanced | ib50 |' in every  # the paper's sets
    assert '| XE | 49.0 | 67.7 |' in every and '| PC | 48.9 | - |' in every
    # The summary reads our tables only.
    assert 'the best on the balanced test set is TDE (45.0 %)' in markdown
    saved = json.loads((tmp_path / 'report.json').read_text())
    assert saved['paper']['source'] == 'Zhu et al., AAAI 2022'


def test_a_section_without_a_paper_table(tmp_path):
    tables = check_report_spec(dict(tables=dict(imbalanced=None)),
                               'p.py')['tables']
    markdown = tables_only(build_report(OURS, tables=tables), tmp_path)
    assert '## Top-1 on every test set\n' in markdown
    assert BALANCED.format('Table 1') in markdown


@pytest.mark.parametrize('precision', [False, True])
def test_precision_convention_named_when_the_paper_gives_it(
        tmp_path, precision):
    metrics = dict(top1=40.5, many_precision=38.5) if precision else dict(
        top1=40.5)
    paper = dict(source='S', results=dict(XE=dict(balanced=metrics)))
    markdown = tables_only(build_report(OURS, paper=paper), tmp_path)
    assert ('| method | top1 | many_precision |' in markdown) is precision
    assert ("The paper's precision leaves such classes out" in
            markdown) is precision


def test_summary_averages_the_forward_imbalanced_sets(tmp_path):
    both = tables_only(build_report(OURS), tmp_path)
    assert ('on the imbalanced test sets (ib50 and ib50_bwd) it averages '
            '40.00 %, below TDE (45.00 %)') in both
    forward = tables_only(build_report(OURS, backward_sets=['ib50_bwd']),
                          tmp_path)
    assert ('on the imbalanced test sets (ib50) it averages 60.00 %, above '
            'TDE (55.00 %)') in forward
    assert json.loads((tmp_path / 'report.json').read_text())[
        'backward_sets'] == ['ib50_bwd']


def test_summary_compares_with_the_reports_baseline(tmp_path):
    ride = {'RIDE' if m == 'XE' else 'RIDE-PC': rows
            for m, rows in OURS.items()}
    ride['xERM-RIDE-PC'] = OURS['TDE']
    markdown = tables_only(build_report(ride, baseline='RIDE'), tmp_path)
    assert ('RIDE is head-biased: its few-shot recall on the balanced test '
            "set is 5.0 %, 15.0 points below RIDE-PC's") in markdown
    # xERM-{name} is the student of {name}.
    assert 'xERM-RIDE-PC is between or above RIDE and the balanced teacher' \
        in markdown
    assert json.loads((tmp_path / 'report.json').read_text())[
        'baseline'] == 'RIDE'
    # Without it the summary looks for an XE row: none to compare.
    plain = tables_only(build_report(ride), tmp_path)
    assert 'no few-shot class, or a method missing' in plain


def test_report_md_ends_with_the_summary(tmp_path):
    from xerm_mm.report import summarize_tables
    report = build_report(OURS)
    markdown = tables_only(report, tmp_path)
    sentences = ' '.join(summarize_tables(report['table1'],
                                          report['table4']))
    assert markdown.rstrip().endswith('## What the tables show\n\n' +
                                      sentences)


def test_figures_off_and_a_failing_figures_step(tmp_path, monkeypatch):
    report = build_report(OURS)
    markdown = tables_only(report, tmp_path)
    assert 'figures/' not in markdown and '```bash' not in markdown
    assert not (tmp_path / 'figures').exists()
    assert 'figures' not in json.loads((tmp_path / 'report.json').read_text())

    def broken(*args, **kwargs):
        raise RuntimeError('matplotlib broke')

    # The pictures' step fails as a whole: the tables are there.
    monkeypatch.setattr('xerm_mm.report.tables.draw_report_figures', broken)
    markdown = write_report(report, str(tmp_path))
    assert ('> **Warning:** figure `figures` was not drawn: RuntimeError: '
            'matplotlib broke') in markdown
    assert '| XE |' in markdown and '## What the tables show' in markdown
    saved = json.loads((tmp_path / 'report.json').read_text())
    assert saved['figures']['balanced'][0]['error'].startswith('RuntimeError')


def test_a_failed_write_keeps_the_complete_files(tmp_path):
    report = build_report(OURS)
    markdown = tables_only(report, tmp_path)
    saved = (tmp_path / 'report.json').read_text()
    report['table1']['XE']['top1'] = object()  # not JSON: fails half-way
    with pytest.raises(TypeError):
        tables_only(report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'report.json', 'report.md']
    assert (tmp_path / 'report.json').read_text() == saved
    assert (tmp_path / 'report.md').read_text() == markdown
