"""A pipeline config's ``report`` key, checked (configs/pipelines/README.md).

``report = dict(title=, tables=dict(balanced=, imbalanced=), paper=dict(
source=, results=), figures=, baseline=)``: every key optional; without
the key the report is that of CIFAR-100-LT (Tables 1 and 4, no paper
numbers, the pictures drawn, XE as the baseline).
"""
from numbers import Number
from typing import Mapping, Optional

__all__ = ['DEFAULT_TABLES', 'check_report_spec']

#: The paper's tables of the two sections on CIFAR-100-LT.
DEFAULT_TABLES = dict(balanced='Table 1', imbalanced='Table 4')
_KEYS = ('title', 'tables', 'paper', 'figures', 'baseline')


def _fail(path: str, what: str) -> None:
    raise ValueError(f'{path}: report{what}')


def _check_tables(tables, path: str) -> dict:
    if not isinstance(tables, Mapping) or not set(tables) <= set(
            DEFAULT_TABLES):
        _fail(path, '.tables must be dict(balanced=NAME, imbalanced=NAME) '
              "(the paper's table of each section, e.g. 'Table 2', or None), "
              f'got {tables!r}')
    for key, name in tables.items():
        if name is not None and not isinstance(name, str):
            _fail(path, f'.tables.{key} must be a table name or None, got '
                  f'{name!r}')
    return dict(DEFAULT_TABLES, **tables)


def _check_paper(paper, path: str) -> Optional[dict]:
    if paper is None:
        return None
    if (not isinstance(paper, Mapping) or set(paper) != {'source', 'results'}
            or not isinstance(paper['source'], str)
            or not isinstance(paper['results'], Mapping)):
        _fail(path, ".paper must be dict(source='AUTHORS, VENUE YEAR', "
              'results={METHOD: {TEST_SET: {METRIC: VALUE}}}), got '
              f'{paper!r}')
    for method, sets in paper['results'].items():
        if not isinstance(sets, Mapping):
            _fail(path, f'.paper.results.{method} must be a dict of test '
                  f'set: metrics, got {sets!r}')
        for test_set, metrics in sets.items():
            where = f'.paper.results.{method}.{test_set}'
            if not isinstance(metrics, Mapping):
                _fail(path, f'{where} must be a dict of metric: value '
                      f'(e.g. top1=49.0), got {metrics!r}')
            for metric, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, Number):
                    _fail(path, f'{where}.{metric} must be a number (in '
                          f'%), got {value!r}')
    return dict(source=paper['source'], results=paper['results'])


def check_report_spec(spec, path: str) -> dict:
    """The ``report`` key of pipeline config ``path``, checked, defaults
    filled in: ``dict(title=str | None, baseline=str, tables=dict(balanced=,
    imbalanced=), paper=dict(source=, results=) | None, figures=bool)``;
    ``baseline`` (default ``'XE'``) is the evaluation of the imbalanced
    model that the report's summary compares the others with.

    Raises:
        ValueError: Naming the config, the key and the expected form.
    """
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping):
        _fail(path, f' must be a dict, got {spec!r}')
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        _fail(path, f': unknown keys {unknown}; allowed: {list(_KEYS)} (see '
              'configs/pipelines/README.md)')
    title = spec.get('title')
    if title is not None and not isinstance(title, str):
        _fail(path, f'.title must be a string, got {title!r}')
    figures = spec.get('figures', True)
    if not isinstance(figures, bool):
        _fail(path, '.figures must be True (draw the pictures beside the '
              f'tables) or False (tables only), got {figures!r}')
    baseline = spec.get('baseline', 'XE')
    if not isinstance(baseline, str) or not baseline:
        _fail(path, '.baseline must be the name of the evaluation of the '
              "imbalanced (head-biased) model, e.g. 'XE' or 'RIDE', got "
              f'{baseline!r}')
    return dict(
        title=title,
        baseline=baseline,
        tables=_check_tables(spec.get('tables', {}), path),
        paper=_check_paper(spec.get('paper'), path),
        figures=figures)
