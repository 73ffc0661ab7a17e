"""A pipeline config's ``report`` key: the paper's table names and its
numbers beside ours; without it the CIFAR-100-LT report of before."""
import json

import pytest

from xerm_mm.apis import ExperimentError, build_report, write_report
from xerm_mm.apis.report_spec import check_report_spec

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
IMAGENET = dict(title='xERM on ImageNet-LT',
                tables=dict(balanced='Table 2', imbalanced='Table 5'),
                paper=PAPER)


def test_default_is_the_cifar_report(tmp_path):
    spec = check_report_spec(None, 'p.py')
    assert spec == dict(title=None, paper=None, figures=True, baseline='XE',
                        tables=dict(
        balanced='Table 1', imbalanced='Table 4'))
    report = build_report(OURS, tables=spec['tables'])
    markdown = write_report(report, str(tmp_path), title='p.py')
    assert ('## Balanced test set: top-1 and per group recall / precision / '
            'F1 (Table 1)') in markdown
    assert ('## Top-1 on every test set (Table 4: imbalanced test sets)'
            in markdown)
    assert "paper" not in markdown and 'paper' not in report
    # What a report without the key was before: the same Markdown.
    assert write_report(build_report(OURS), str(tmp_path),
                        title='p.py') == markdown


def test_paper_tables_and_numbers_beside_ours(tmp_path):
    spec = check_report_spec(IMAGENET, 'p.py')
    report = build_report(OURS, tables=spec['tables'], paper=spec['paper'])
    assert report['tables'] == dict(balanced='Table 2', imbalanced='Table 5')
    paper = report['paper']
    assert paper['table1'] == dict(XE=dict(top1=49.0), TDE=dict(top1=51.8),
                                   PC=dict(top1=48.9))
    assert paper['table4']['TDE'] == dict(balanced=51.8, ib50=63.0)
    markdown = write_report(report, str(tmp_path), title=spec['title'])
    assert markdown.startswith('# xERM on ImageNet-LT\n')
    lines = markdown.splitlines()
    first = lines.index('## Balanced test set: top-1 and per group recall / '
                        'precision / F1 (Table 2)')
    second = lines.index(
        '## Top-1 on every test set (Table 5: imbalanced test sets)')
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
    spec = check_report_spec(dict(tables=dict(imbalanced=None)), 'p.py')
    markdown = write_report(build_report(OURS, tables=spec['tables']),
                            str(tmp_path))
    assert '## Top-1 on every test set\n' in markdown
    assert '(Table 1)' in markdown


def test_precision_convention_named_when_the_paper_gives_precision(
        tmp_path):
    paper = dict(source='S', results=dict(XE=dict(balanced=dict(
        top1=40.5, many_precision=38.5))))
    markdown = write_report(build_report(OURS, paper=paper), str(tmp_path))
    assert '| method | top1 | many_precision |' in markdown
    assert "The paper's precision leaves such classes out" in markdown


@pytest.mark.parametrize('spec, message', [
    (['Table 2'], 'report must be a dict'),
    (dict(tabels={}), "report: unknown keys ['tabels']; allowed"),
    (dict(title=2), 'report.title must be a string'),
    (dict(baseline=['RIDE']), 'report.baseline must be the name of the '
     'evaluation of the imbalanced (head-biased) model'),
    (dict(figures='no'), "report.figures must be True (draw the pictures "
     "beside the tables) or False (tables only), got 'no'"),
    (dict(tables=dict(balanced='T', test='T')), 'report.tables must be dict('),
    (dict(tables=dict(balanced=2)), 'report.tables.balanced must be a table'),
    (dict(paper=dict(results={})), 'report.paper must be dict(source='),
    (dict(paper=dict(source='S', results=dict(XE=49.0))),
     'report.paper.results.XE must be a dict of test set: metrics'),
    (dict(paper=dict(source='S', results=dict(XE=dict(balanced=49.0)))),
     'report.paper.results.XE.balanced must be a dict of metric: value'),
    (dict(paper=dict(source='S', results=dict(XE=dict(
        balanced=dict(top1='49'))))),
     "report.paper.results.XE.balanced.top1 must be a number (in %), got "
     "'49'"),
])
def test_bad_report_key_is_named(spec, message):
    with pytest.raises(ExperimentError) as error:
        check_report_spec(spec, 'p.py')
    assert str(error.value).startswith('p.py: ')
    assert message in str(error.value)


def test_experiment_checks_the_key_before_any_work(tmp_path):
    from xerm_mm.apis import Experiment
    config = tmp_path / 'pipeline.py'
    config.write_text(
        "stages = [dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_"
        "1xb64-30e_digitslt-ib10.py')]\nreport = dict(tables='Table 2')\n")
    with pytest.raises(ExperimentError, match=r'report\.tables must be'):
        Experiment(str(config), work_dir=str(tmp_path / 'work'))
    assert not (tmp_path / 'work').exists()


def test_summary_averages_the_forward_imbalanced_sets(tmp_path):
    both = write_report(build_report(OURS), str(tmp_path))
    assert ('on the imbalanced test sets (ib50 and ib50_bwd) it averages '
            '40.00 %, below TDE (45.00 %)') in both
    forward = write_report(build_report(OURS, backward_sets=['ib50_bwd']),
                           str(tmp_path))
    assert ('on the imbalanced test sets (ib50) it averages 60.00 %, above '
            'TDE (55.00 %)') in forward
    assert json.loads((tmp_path / 'report.json').read_text())[
        'backward_sets'] == ['ib50_bwd']


def test_summary_compares_with_the_pipelines_baseline(tmp_path):
    ride = {'RIDE' if m == 'XE' else 'RIDE-PC': rows
            for m, rows in OURS.items()}
    ride['xERM-RIDE-PC'] = OURS['TDE']
    spec = check_report_spec(dict(baseline='RIDE'), 'p.py')
    markdown = write_report(build_report(ride, baseline=spec['baseline']),
                            str(tmp_path))
    assert ('RIDE is head-biased: its few-shot recall on the balanced test '
            "set is 5.0 %, 15.0 points below RIDE-PC's") in markdown
    assert 'xERM-RIDE-PC is between or above RIDE and the balanced teacher' \
        in markdown
    assert json.loads((tmp_path / 'report.json').read_text())[
        'baseline'] == 'RIDE'
    # Without the key the summary looks for an XE row: none to compare.
    plain = write_report(build_report(ride), str(tmp_path))
    assert 'no few-shot class, or a method missing' in plain
