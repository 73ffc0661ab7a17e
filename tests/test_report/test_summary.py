"""xerm_mm.report.summary: the sentences of a report, on hand-made tables."""
import copy
import math

from xerm_mm.report import summarize_tables
from xerm_mm.report.summary import STUDENTS, students_of

# The paper's pattern: XE head-biased, the balanced teachers better on the
# balanced set and worse on the imbalanced ones, the students in between.
TABLE1 = {
    'XE': dict(top1=70.0, few_recall=30.0),
    'PC': dict(top1=80.0, few_recall=70.0),
    'TDE': dict(top1=82.0, few_recall=75.0),
    'xERM-PC': dict(top1=81.0, few_recall=60.0),
    'xERM-TDE': dict(top1=83.0, few_recall=65.0),
}
TABLE4 = {
    'XE': dict(balanced=70.0, ib10=90.0, ib5=86.0),
    'PC': dict(balanced=80.0, ib10=78.0, ib5=80.0),
    'TDE': dict(balanced=82.0, ib10=80.0, ib5=81.0),
    'xERM-PC': dict(balanced=81.0, ib10=88.0, ib5=85.0),
    'xERM-TDE': dict(balanced=83.0, ib10=85.0, ib5=84.0),
}


def test_paper_pattern():
    first, second = summarize_tables(TABLE1, TABLE4)
    assert first == (
        'XE is head-biased: its few-shot recall on the balanced test set is '
        "30.0 %, 45.0 points below TDE's; on the imbalanced test sets (ib10 "
        'and ib5) it averages 88.00 %, above PC (79.00 %) and TDE (80.50 %).')
    assert second == (
        'xERM-PC and xERM-TDE are between or above XE and the balanced '
        'teacher on all 6 test-set results (at or above both on 2); the '
        'best on the balanced test set is xERM-TDE (83.0 %) and on the '
        'imbalanced ones XE (88.0 % on average).')


def test_no_head_bias():
    table1 = copy.deepcopy(TABLE1)
    table1['XE']['few_recall'] = 80.0
    table4 = copy.deepcopy(TABLE4)
    table4['XE'].update(ib10=70.0, ib5=72.0)
    first, _ = summarize_tables(table1, table4)
    assert first == (
        "XE's few-shot recall on the balanced test set (80.0 %) is not "
        "below any other method's; on the imbalanced test sets (ib10 and "
        'ib5) it averages 71.00 %, below PC (79.00 %) and TDE (80.50 %).')


def test_xe_between_and_level_with_the_balanced_teachers():
    table4 = copy.deepcopy(TABLE4)
    table4['XE'].update(ib10=79.0, ib5=80.0)  # 79.5: PC 79.0, TDE 80.5
    first, _ = summarize_tables(TABLE1, table4)
    assert first.endswith('it averages 79.50 %, above PC (79.00 %) and '
                          'below TDE (80.50 %).')
    table4['XE'].update(ib10=80.0, ib5=81.0)
    first, _ = summarize_tables(TABLE1, table4)
    assert first.endswith('it averages 80.50 %, above PC (79.00 %) and '
                          'level with TDE (80.50 %).')


def test_students_below_a_teacher_counted():
    table4 = copy.deepcopy(TABLE4)
    table4['xERM-TDE'].update(balanced=60.0, ib10=95.0)  # below / above both
    _, second = summarize_tables(TABLE1, table4)
    assert second.startswith(
        'xERM-PC and xERM-TDE are between or above XE and the balanced '
        'teacher on 5 of 6 test-set results (at or above both on 2); ')
    assert 'on the imbalanced ones xERM-TDE (89.5 % on average)' in second


def test_missing_methods_and_sets():
    # Only XE and one student with its teachers; no imbalanced test set; no
    # few-shot class (NaN recall).
    table1 = {'XE': dict(top1=70.0, few_recall=math.nan),
              'PC': dict(top1=80.0, few_recall=math.nan),
              'xERM-PC': dict(top1=79.0, few_recall=math.nan)}
    table4 = {m: dict(balanced=row['top1']) for m, row in table1.items()}
    first, second = summarize_tables(table1, table4)
    assert first == (
        'The balanced test set gives no few-shot recall to compare XE with '
        '(no few-shot class, or a method missing); there is no imbalanced '
        'test set to compare it with the balanced teachers on.')
    assert second == (
        'xERM-PC is between or above XE and the balanced teacher on all 1 '
        'test-set results (at or above both on 0); the best on the balanced '
        'test set is PC (80.0 %).')


def test_no_student():
    table1 = {m: TABLE1[m] for m in ('XE', 'TDE')}
    table4 = {m: TABLE4[m] for m in ('XE', 'TDE')}
    _, second = summarize_tables(table1, table4, balanced_set='balanced')
    assert second == (
        'No xERM student was evaluated together with its teachers; the best '
        'on the balanced test set is TDE (82.0 %) and on the imbalanced ones '
        'XE (88.0 % on average).')


def test_budget_matched_sentence():
    table1 = copy.deepcopy(TABLE1)
    table1['PC-2x'] = dict(top1=80.5)  # below xERM-PC: the gain survives
    table1['TDE-2x'] = dict(top1=84.0)  # above xERM-TDE: it does not
    sentences = summarize_tables(table1, TABLE4)
    assert len(sentences) == 3
    assert sentences[2] == (
        'At the equal training budget (-2x: the teacher network trained for '
        "the epochs of teacher + student), xERM-PC's gain over PC on the "
        'balanced test set (+1.0 points, 81.0 %) survives the equal budget: '
        "+0.5 points against PC-2x (80.5 %); xERM-TDE's gain over TDE on the "
        'balanced test set (+1.0 points, 83.0 %) does not survive the equal '
        'budget: -1.0 points against TDE-2x (84.0 %).')
    # Without budget-matched rows: two sentences.
    assert len(summarize_tables(TABLE1, TABLE4)) == 2


def test_students_of_a_table():
    table = dict.fromkeys(['XE', 'cRT', 'xERM-cRT', 'xERM-LWS', 'PC'])
    found = students_of(table)
    assert found['xERM-cRT'] == 'cRT'  # by its name
    assert 'xERM-LWS' not in found  # no LWS row
    assert {k: found[k] for k in STUDENTS} == STUDENTS  # the known pairs
