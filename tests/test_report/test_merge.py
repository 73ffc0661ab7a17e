"""xerm_mm.report.merge and tools/analysis_tools/merge_reports.py: one
table over several pipeline runs' report.json."""
import json

import pytest

from inprocess_tool import run_main
from xerm_mm.report import build_report

TOOL = 'analysis_tools/merge_reports'


def _report(tmp_path, name, rows, sha):
    """A report.json of ``rows`` ({method: (balanced, ib100, few)})."""
    results = {
        m: dict(balanced=dict(top1=b, few_recall=f), ib100=dict(top1=i))
        for m, (b, i, f) in rows.items()}
    checkpoints = {m: dict(file=f'{m}.pth', sha256=sha.get(m, m))
                   for m in rows}
    report = build_report(results, checkpoints=checkpoints)
    path = tmp_path / name / 'report.json'
    path.parent.mkdir()
    path.write_text(json.dumps(report))
    return str(path)


@pytest.fixture
def reports(tmp_path):
    first = _report(tmp_path, 'bal', dict(XE=(18.0, 42.0, 0.0),
                                          LA=(23.0, 36.0, 5.0)), {})
    second = _report(tmp_path, 'ride', dict(XE=(18.0, 42.0, 0.0),
                                            RIDE=(21.0, 49.0, 0.1)), {})
    return first, second


def test_one_row_per_model_in_the_order_met(reports, tmp_path):
    out = tmp_path / 'merged.json'
    table, printed = run_main(TOOL, *reports, '--balanced-columns',
                              'few_recall', '--out', out)
    assert list(table) == ['XE', 'LA', 'RIDE']  # XE once: same checkpoint
    assert table['RIDE'] == dict(few_recall=0.1, balanced=21.0, ib100=49.0)
    assert '| method | few_recall | balanced | ib100 |' in printed
    assert '| LA | 5.00 | 23.00 | 36.00 |' in printed
    saved = json.loads(out.read_text())
    assert saved['rows']['RIDE']['report'] == reports[1]
    # --methods picks and orders the rows; --sets the columns.
    table, printed = run_main(TOOL, *reports, '--methods', 'RIDE', 'XE',
                              '--sets', 'ib100')
    assert list(table) == ['RIDE', 'XE'] and list(table['XE']) == ['ib100']


def test_one_name_for_two_models_is_an_error_until_renamed(tmp_path):
    first = _report(tmp_path, 'a', dict(XE=(18.0, 42.0, 0.0)), {})
    second = _report(tmp_path, 'b', dict(XE=(18.5, 42.0, 0.0)),
                     dict(XE='other'))
    with pytest.raises(ValueError, match=r"'XE' of .*b/report.json is "
                       r'another model.*--rename 1 XE XE-2'):
        run_main(TOOL, first, second)
    table, _ = run_main(TOOL, first, second, '--rename', '1', 'XE', 'XE-b')
    assert list(table) == ['XE', 'XE-b'] and table['XE-b']['balanced'] == 18.5


def test_bad_inputs_are_named(reports, tmp_path):
    with pytest.raises(KeyError, match=r"\['TDE'\] in none of the reports"):
        run_main(TOOL, *reports, '--methods', 'TDE')
    other = tmp_path / 'metrics.json'
    other.write_text('{"balanced/lt/top1": 1.0}')
    with pytest.raises(ValueError, match='metrics.json: no table1 / table4'):
        run_main(TOOL, str(other))
    with pytest.raises(SystemExit):
        run_main(TOOL, *reports, '--rename', '2', 'XE', 'X')
