"""The test sets of the test-agnostic sweep, as ``tools/test.py`` options.

Forward long tails (IB 100 .. 2), the balanced set, backward ones (IB 2 ..
100), as in LADE / SADE: each a ``test_cfg.test_sets`` entry of
:class:`~xerm_mm.engine.MultiTestLoop` setting the dataset's
``imbalance_ratio`` and ``reverse``, so a sweep is one ``tools/test.py`` run
per model. The backward sets are named ``ib{r}_bwd``.
"""
import inspect
import math
import numbers
import re
from typing import Iterable, List, NamedTuple, Sequence, Tuple

from mmengine.config import Config

#: Forward imbalance ratios swept by default (and, mirrored, backward).
DEFAULT_RATIOS = (100, 50, 10, 5, 2)
_LOOPS = ('MultiTestLoop', 'xerm_mm.MultiTestLoop')
#: A set name of the convention: ``ib100``, ``ib2p5``, ``ib10_bwd``.
_SET_NAME = re.compile(r'^ib(\d+(?:p\d+)?)(_bwd)?$')


class SweepSet(NamedTuple):
    """One test set of the sweep.

    Attributes:
        name (str): ``ib{r}``, ``balanced`` or ``ib{r}_bwd``.
        imbalance_ratio (float): ``IB`` of the set (1: balanced).
        reverse (bool): Backward long tail.
        label (str): Its tick label on the plot.
    """
    name: str
    imbalance_ratio: float
    reverse: bool
    label: str


def _name_text(ratio: float) -> str:
    """``100`` -> ``'100'``, ``2.5`` -> ``'2p5'`` (no dot: names are
    ``--cfg-options`` key parts)."""
    return f'{ratio:g}'.replace('.', 'p')


def _sweep_set(ratio: float, reverse: bool) -> SweepSet:
    """The forward or backward set of ``ratio``, named and labelled."""
    suffix = '_bwd' if reverse else ''
    return SweepSet(f'ib{_name_text(ratio)}{suffix}', ratio, reverse,
                    f'{ratio:g}\n{"bwd" if reverse else "fwd"}')


def _balanced(name: str = 'balanced') -> SweepSet:
    return SweepSet(name, 1, False, '1\nbalanced')


def _x_order(s: SweepSet) -> tuple:
    """Forward sets (largest IB first), balanced, backward (smallest
    first)."""
    if s.imbalance_ratio == 1:
        return (1, 0)
    return (2, s.imbalance_ratio) if s.reverse else (0, -s.imbalance_ratio)


def sets_of_names(names: Iterable[str], balanced_set: str = 'balanced',
                  backward: Sequence[str] = ()
                  ) -> Tuple[List[SweepSet], List[str]]:
    """The sweep's sets of a config's test-set names, in x order.

    Names follow the configs' convention (``ib{r}``, ``ib{r}_bwd``, the
    balanced set), e.g. a pipeline report's test sets.

    Args:
        names (Iterable[str]): Test set names.
        balanced_set (str): The balanced set's name. Defaults to
            ``'balanced'``.
        backward (Sequence[str]): Names of backward sets (``reverse=True``)
            besides those ending in ``_bwd``.

    Returns:
        tuple: The sets in x order, and the names that follow no convention
        (left out).
    """
    found, left_out = [], []
    for name in dict.fromkeys(names):
        match = _SET_NAME.match(name)
        if name == balanced_set:
            found.append(_balanced(name))
        elif match:
            ratio = float(match.group(1).replace('p', '.'))
            ratio = int(ratio) if ratio.is_integer() else ratio
            reverse = bool(match.group(2)) or name in backward
            found.append(_sweep_set(ratio, reverse)._replace(name=name))
        else:
            left_out.append(name)
    return sorted(found, key=_x_order), left_out


def sweep_sets(ratios: Sequence[float] = DEFAULT_RATIOS) -> List[SweepSet]:
    """Forward sets (largest IB first), balanced, backward (smallest first).

    Args:
        ratios (Sequence[float]): The imbalance ratios (> 1, distinct), in any
            order.

    Raises:
        ValueError: A ratio is not a finite number > 1, or is repeated.
    """
    for ratio in ratios:
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) \
                or not math.isfinite(ratio) or ratio <= 1:
            raise ValueError(f'--ratios: {ratio!r} is not a number > 1 (the '
                             'balanced set, IB 1, is always swept)')
    if len(set(ratios)) != len(ratios):
        raise ValueError(f'--ratios {list(ratios)}: a ratio is repeated')
    sets = [_sweep_set(r, reverse) for r in ratios
            for reverse in (False, True)] + [_balanced()]
    return sorted(sets, key=_x_order)


def sweep_set_options(sets: Sequence[SweepSet]) -> List[str]:
    """``tools/test.py --cfg-options`` entries that define the sets."""
    options = []
    for s in sets:
        key = f'test_cfg.test_sets.{s.name}'
        options += [f'{key}.imbalance_ratio={s.imbalance_ratio:g}',
                    f'{key}.reverse={s.reverse}']
    return options


def check_sweepable(cfg: Config, config_path: str) -> None:
    """Raise if ``tools/test.py`` cannot sweep the test sets of ``cfg``.

    The config must test with MultiTestLoop, one view of the head (no
    ``test_cfg.views``), and a test dataset whose class takes
    ``imbalance_ratio`` and ``reverse``.

    Raises:
        ValueError: Naming the config, the setting and the fix.
    """
    from xerm_mm.registry import DATASETS
    test_cfg = cfg.get('test_cfg') or {}
    loop = test_cfg.get('type')
    if loop not in _LOOPS:
        raise ValueError(
            f'{config_path}: the test loop is '
            f"{loop or 'a plain TestLoop'}; the sweep needs "
            "test_cfg = dict(type='xerm_mm.MultiTestLoop', ...)")
    if test_cfg.get('views'):
        raise ValueError(
            f'{config_path}: test_cfg.views={list(test_cfg.views)} evaluates '
            'several views; sweep one view (the head\'s predict_view) by '
            'giving the config of that view')
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    dataset_type = dataset.get('type')
    dataset_cls = DATASETS.get(dataset_type) if isinstance(
        dataset_type, str) else dataset_type
    if dataset_cls is None:
        raise ValueError(f'{config_path}: test_dataloader.dataset.type '
                         f'{dataset_type!r} is not a registered dataset')
    params = inspect.signature(dataset_cls.__init__).parameters
    missing = [p for p in ('imbalance_ratio', 'reverse') if p not in params]
    if missing:
        raise ValueError(
            f'{config_path}: the test dataset {dataset_cls.__name__} takes no '
            f'{missing}; the sweep needs a long-tailed dataset of xerm_mm '
            '(CIFAR10LT, CIFAR100LT, DigitsLT, ImageNetLT, Places365LT, '
            'INaturalist2018)')
