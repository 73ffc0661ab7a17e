"""xerm_mm.report.spec: a pipeline config's ``report`` key, checked, with
the CIFAR-100-LT report as its default."""
import pytest

from xerm_mm.report import check_report_spec

PAPER = dict(source='Zhu et al., AAAI 2022', results=dict(
    XE=dict(balanced=dict(top1=49.0), ib50=dict(top1=67.7)),
    TDE=dict(balanced=dict(top1=51.8), ib50=dict(top1=63.0)),
    PC=dict(balanced=dict(top1=48.9))))
IMAGENET = dict(title='xERM on ImageNet-LT',
                tables=dict(balanced='Table 2', imbalanced='Table 5'),
                paper=PAPER)


def test_default_is_the_cifar_report():
    assert check_report_spec(None, 'p.py') == check_report_spec({}, 'p.py')
    assert check_report_spec(None, 'p.py') == dict(
        title=None, paper=None, figures=True, baseline='XE',
        tables=dict(balanced='Table 1', imbalanced='Table 4'))


def test_given_keys_are_kept():
    spec = check_report_spec(IMAGENET, 'p.py')
    assert spec == dict(title='xERM on ImageNet-LT', paper=PAPER,
                        figures=True, baseline='XE', tables=dict(
                            balanced='Table 2', imbalanced='Table 5'))
    # One section's table: the other keeps the default; None: no table.
    assert check_report_spec(dict(tables=dict(imbalanced=None)), 'p.py')[
        'tables'] == dict(balanced='Table 1', imbalanced=None)
    assert check_report_spec(dict(figures=False), 'p.py')['figures'] is False
    assert check_report_spec(dict(baseline='RIDE'), 'p.py')[
        'baseline'] == 'RIDE'


@pytest.mark.parametrize('spec, message', [
    (['Table 2'], 'report must be a dict'),
    (dict(tabels={}), "report: unknown keys ['tabels']; allowed"),
    (dict(title=2), 'report.title must be a string'),
    (dict(baseline=['RIDE']), 'report.baseline must be the name of the '
     'evaluation of the imbalanced (head-biased) model'),
    (dict(baseline=''), 'report.baseline must be the name'),
    (dict(figures='no'), "report.figures must be True (draw the pictures "
     "beside the tables) or False (tables only), got 'no'"),
    (dict(tables='Table 2'), 'report.tables must be dict('),
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
    (dict(paper=dict(source='S', results=dict(XE=dict(
        balanced=dict(top1=True))))),
     'report.paper.results.XE.balanced.top1 must be a number'),
])
def test_bad_report_key_is_named(spec, message):
    with pytest.raises(ValueError) as error:
        check_report_spec(spec, 'p.py')
    assert str(error.value).startswith('p.py: ')
    assert message in str(error.value)


def test_the_plan_checks_the_key_before_any_work(tmp_path):
    from xerm_mm.experiment import make_plan
    config = tmp_path / 'pipeline.py'
    config.write_text(
        "stages = [dict(name='xe', config='xerm_mm::xe/xe_bbn-resnet32_"
        "1xb64-30e_digitslt-ib10.py')]\nreport = dict(tables='Table 2')\n")
    with pytest.raises(Exception, match=r'pipeline\.py: report\.tables '
                       'must be'):
        make_plan(str(config), work_dir=str(tmp_path / 'work'))
    assert not (tmp_path / 'work').exists()
