"""The sentences that say what a report's tables show (docs/methods.md).

:func:`summarize_tables` words, from ``table1`` and ``table4`` alone,
whether the baseline (XE) is head-biased, where the xERM students stand
against their two teachers, the best methods, and whether each student's
gain survives a budget-matched baseline (``{teacher}-2x``); a method that
is missing is left out of the wording.
"""
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .metrics import column_names

__all__ = ['summarize_tables', 'students_of', 'STUDENTS', 'BUDGET_SUFFIX']

#: The xERM students and their balanced teacher (the imbalanced one is XE).
STUDENTS = {
    'xERM-PC': 'PC', 'xERM-TDE': 'TDE', 'xERM-LA': 'LA', 'xERM-BS': 'BS',
    'xERM-LADE': 'LADE'
}
#: An evaluation ``{STUDENT_PREFIX}{teacher}`` is the xERM student of the
#: evaluation ``{teacher}`` (xERM-cRT of cRT, xERM-TDE-auto-alpha of
#: TDE-auto-alpha).
STUDENT_PREFIX = 'xERM-'
#: The name of a budget-matched baseline: ``{method}{BUDGET_SUFFIX}``.
BUDGET_SUFFIX = '-2x'


def students_of(table: Mapping[str, dict]) -> Dict[str, str]:
    """``{student: balanced teacher}`` of a table's methods: the known
    pairs (:data:`STUDENTS`) and every ``xERM-{name}`` whose ``{name}`` is
    a method of ``table`` too."""
    found = OrderedDict(STUDENTS)
    for method in table:
        teacher = method[len(STUDENT_PREFIX):]
        if method.startswith(STUDENT_PREFIX) and teacher in table:
            found.setdefault(method, teacher)
    return found


def _number(value) -> Optional[float]:
    """``value`` as a float; None for a missing value or NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value else None


def _mean(values: Sequence[Optional[float]]) -> Optional[float]:
    """The mean of ``values``; None if any is missing or there are none."""
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)


def _best(scores: Mapping[str, Optional[float]]
          ) -> Optional[Tuple[str, float]]:
    """``(name, score)`` of the highest score (the first on a tie)."""
    known = [(name, s) for name, s in scores.items() if s is not None]
    if not known:
        return None
    return max(known, key=lambda item: item[1])


def _names(names: Sequence[str]) -> str:
    """``'a'``, ``'a and b'``, ``'a, b and c'``."""
    names = list(names)
    return names[0] if len(names) == 1 else (
        ', '.join(names[:-1]) + ' and ' + names[-1])


def _few_shot_clause(table1: Mapping[str, Mapping],
                     xe: str) -> Tuple[str, Optional[bool]]:
    """How XE's few-shot recall on the balanced test set compares.

    Returns the clause and whether XE trails (None: nothing to compare).
    """
    few = {m: _number(row.get('few_recall')) for m, row in table1.items()}
    mine = few.get(xe)
    best = _best({m: v for m, v in few.items() if m != xe})
    if mine is None or best is None:
        return ('the balanced test set gives no few-shot recall to compare '
                f'{xe} with (no few-shot class, or a method missing)', None)
    if mine < best[1]:
        return (f"{xe}'s few-shot recall on the balanced test set is "
                f'{mine:.1f} %, {best[1] - mine:.1f} points below '
                f"{best[0]}'s", True)
    return (f"{xe}'s few-shot recall on the balanced test set ({mine:.1f} %) "
            "is not below any other method's", False)


def _imbalanced_clause(means: Mapping[str, Optional[float]],
                       imbalanced: Sequence[str], xe: str,
                       teachers: Sequence[str]) -> str:
    """XE's mean top-1 on the imbalanced test sets against each balanced
    teacher's (two decimals: the sets are small, the gaps too)."""
    mine = means.get(xe)
    known = [(t, means[t]) for t in teachers if means.get(t) is not None]
    if not imbalanced or mine is None or not known:
        return ('there is no imbalanced test set to compare it with the '
                'balanced teachers on')
    by_relation: Dict[str, List[str]] = {}
    for teacher, value in known:
        relation = ('above' if mine > value else
                    'below' if mine < value else 'level with')
        by_relation.setdefault(relation, []).append(
            f'{teacher} ({value:.2f} %)')
    against = ' and '.join(f'{relation} {_names(items)}'
                           for relation, items in by_relation.items())
    return (f'on the imbalanced test sets ({_names(imbalanced)}) it averages '
            f'{mine:.2f} %, {against}')


def _students_clause(table4: Mapping[str, Mapping], xe: str,
                     students: Mapping[str, str]) -> str:
    """Where each xERM student stands against its two teachers."""
    between = above = total = 0
    present = []
    for student, teacher in students.items():
        if not {student, xe, teacher} <= set(table4):
            continue
        present.append(student)
        for test_set, value in table4[student].items():
            mine = _number(value)
            marks = [_number(table4[m].get(test_set)) for m in (xe, teacher)]
            if mine is None or None in marks:
                continue
            total += 1
            between += mine >= min(marks)
            above += mine >= max(marks)
    if not total:
        return 'No xERM student was evaluated together with its teachers'
    who = f'{_names(present)} {"is" if len(present) == 1 else "are"}'
    count = f'all {total}' if between == total else f'{between} of {total}'
    return (f'{who} between or above {xe} and the balanced teacher on '
            f'{count} test-set results (at or above both on {above})')


def _budget_sentence(table1: Mapping[str, Mapping],
                     students: Mapping[str, str]) -> Optional[str]:
    """Whether each student's balanced top-1 gain over its teacher
    survives against the teacher trained for the equal budget (None: no
    student with both rows)."""
    top1 = {m: _number(row.get('top1')) for m, row in table1.items()}
    clauses = []
    for student, teacher in students.items():
        matched = teacher + BUDGET_SUFFIX
        mine, base, equal = (top1.get(student), top1.get(teacher),
                             top1.get(matched))
        if mine is None or base is None or equal is None:
            continue
        verdict = ('survives' if mine >= equal else 'does not survive')
        clauses.append(
            f"{student}'s gain over {teacher} on the balanced test set "
            f'({mine - base:+.1f} points, {mine:.1f} %) {verdict} the equal '
            f'budget: {mine - equal:+.1f} points against {matched} '
            f'({equal:.1f} %)')
    if not clauses:
        return None
    return ('At the equal training budget (-2x: the teacher network '
            'trained for the epochs of teacher + student), ' +
            '; '.join(clauses) + '.')


def summarize_tables(table1: Mapping[str, Mapping],
                     table4: Mapping[str, Mapping],
                     balanced_set: str = 'balanced',
                     xe: str = 'XE',
                     students: Optional[Dict[str, str]] = None,
                     imbalanced: Optional[Sequence[str]] = None
                     ) -> List[str]:
    """Two sentences on a report's tables (values in percent).

    Args:
        table1 (Mapping): ``{method: {'top1': .., 'few_recall': .., ...}}``
            on the balanced test set (the report's ``table1``).
        table4 (Mapping): ``{method: {test set: top-1}}`` (the report's
            ``table4``).
        balanced_set (str): The balanced test set's name in ``table4``; the
            other test sets are the imbalanced ones. Defaults to
            ``'balanced'``.
        xe (str): The imbalanced (head-biased) teacher. Defaults to ``'XE'``.
        students (dict, optional): ``{student: balanced teacher}``. Defaults
            to :data:`STUDENTS`.
        imbalanced (Sequence[str], optional): The imbalanced test sets whose
            mean top-1 is compared (e.g. the forward ones only). Defaults to
            every test set of ``table4`` but the balanced one.

    Returns:
        list[str]: The sentence on XE's head bias, the sentence on the
        xERM students against their teachers and the best methods, and,
        where ``table1`` has budget-matched rows (``PC-2x``, ...), the
        sentence on whether the students' gains survive the equal budget.
    """
    students = STUDENTS if students is None else students
    teachers = [t for t in dict.fromkeys(students.values()) if t in table4]
    sets = column_names(table4)
    if imbalanced is None:
        imbalanced = [name for name in sets if name != balanced_set]
    imbalanced = [name for name in imbalanced if name in sets]
    means = {
        m: _mean([_number(row.get(name)) for name in imbalanced])
        for m, row in table4.items()
    }
    few, trails = _few_shot_clause(table1, xe)
    imb = _imbalanced_clause(means, imbalanced, xe, teachers)
    first = few + '; ' + imb + '.'
    if trails:
        first = f'{xe} is head-biased: ' + first.replace(f"{xe}'s", 'its', 1)
    first = first[0].upper() + first[1:]

    balanced = _best({m: _number(r.get('top1')) for m, r in table1.items()})
    best = []
    if balanced:
        best.append(f'the best on the balanced test set is {balanced[0]} '
                    f'({balanced[1]:.1f} %)')
    on_imbalanced = _best(means) if imbalanced else None
    if on_imbalanced:
        best.append(f'on the imbalanced ones {on_imbalanced[0]} '
                    f'({on_imbalanced[1]:.1f} % on average)')
    second = _students_clause(table4, xe, students)
    if best:
        second += '; ' + ' and '.join(best)
    budget = _budget_sentence(table1, students)
    return [first, second + '.'] + ([budget] if budget else [])
