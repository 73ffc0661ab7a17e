"""Read the metrics file of ``tools/test.py`` for the analysis tools.

``tools/test.py CONFIG CKPT --metrics-out FILE.json`` (or ``--out FILE
--out-item metrics``, JSON / YAML / pickle) writes every metric of every test
set under ``'{set}/lt/{metric}'``; a pipeline keeps one such file per
evaluation in ``{work_dir}/eval/{method}.json``.
"""
from collections import OrderedDict
from typing import Dict, Sequence

import mmengine

from xerm_mm.report import split_by_test_set

#: The per-class lists that the analysis tools read.
PER_CLASS_KEYS = ('per_class_pred_count', 'per_class_gt_count',
                  'per_class_tp', 'per_class_train_count', 'per_class_group')

_MAKE_IT = ('write it with tools/test.py CONFIG CHECKPOINT --metrics-out '
            'FILE.json')


def load_metrics(path: str) -> dict:
    """The metrics dict of ``path`` (``.json``, ``.yaml``, ``.pkl``).

    Raises:
        FileNotFoundError: ``path`` is missing.
        ValueError: It holds no metrics dict.
    """
    try:
        metrics = mmengine.load(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'metrics file {path!r} not found; {_MAKE_IT}') from None
    if not isinstance(metrics, dict):
        raise ValueError(f'{path!r} holds a {type(metrics).__name__}, not '
                         f'the metrics dict of tools/test.py; {_MAKE_IT}')
    return metrics


def test_set_rows(metrics: dict,
                  path: str,
                  required: Sequence[str] = PER_CLASS_KEYS,
                  prefix: str = 'lt') -> 'OrderedDict[str, Dict]':
    """``{test set: {metric: value}}`` of a metrics dict, each set checked.

    Args:
        metrics (dict): What :func:`load_metrics` returned.
        path (str): Its file, named in errors.
        required (Sequence[str]): Keys every set must have.
        prefix (str): The metric's prefix. Defaults to ``'lt'``
            (LongTailMetric).

    Raises:
        KeyError: No LongTailMetric results, or a set lacks a required key
            (a file of an older tools/test.py).
    """
    rows = split_by_test_set(metrics, prefix)
    if not rows:
        raise KeyError(f'{path!r} has no {prefix}/... metrics (a '
                       "LongTailMetric's); test with a config whose "
                       'test_evaluator is xerm_mm.LongTailMetric')
    for name, row in rows.items():
        missing = [key for key in required if key not in row]
        if missing:
            raise KeyError(
                f'{path!r}: test set {name!r} has no {missing} (written by '
                f'an older tools/test.py?); {_MAKE_IT} again')
    return rows
