"""The numbers of the prediction histograms (the xERM paper's Figure 1).

From one test set's LongTailMetric results: the per-class counts ordered
head to tail, and each group's true / false positives (a false positive of
class ``c``: ``pred_count[c] - tp[c]``).
"""
from collections import OrderedDict
from typing import Dict, List, Sequence

import numpy as np

#: The groups of LongTailMetric, head to tail.
GROUPS = ('many', 'medium', 'few')


def class_order(train_counts: Sequence[int]) -> List[int]:
    """Class ids from the most to the least trained (ties by class id)."""
    counts = np.asarray(train_counts, dtype=np.int64)
    return np.argsort(-counts, kind='stable').tolist()


def sorted_counts(row: Dict) -> 'OrderedDict[str, list]':
    """The per-class lists of ``row``, classes ordered head to tail.

    Args:
        row (dict): One test set's metrics (``per_class_*`` keys).

    Returns:
        OrderedDict: ``class``, the class ids in order, and
        ``train_count``, ``gt_count``, ``pred_count``, ``tp``, ``fp`` and
        ``group`` in that order.
    """
    order = class_order(row['per_class_train_count'])
    pred = np.asarray(row['per_class_pred_count'], dtype=np.int64)
    tp = np.asarray(row['per_class_tp'], dtype=np.int64)
    columns = OrderedDict(
        [('class', order),
         ('train_count', row['per_class_train_count']),
         ('gt_count', row['per_class_gt_count']),
         ('pred_count', pred.tolist()),
         ('tp', tp.tolist()),
         ('fp', (pred - tp).tolist()),
         ('group', row['per_class_group'])])
    for key in list(columns)[1:]:
        values = columns[key]
        columns[key] = [values[c] for c in order]
    return columns


def group_counts(row: Dict) -> 'OrderedDict[str, Dict[str, int]]':
    """Per group: its classes, images, predictions, true / false positives.

    Args:
        row (dict): One test set's metrics (``per_class_*`` keys).

    Returns:
        OrderedDict: ``{group: dict(classes, gt, pred, tp, fp)}`` for
        ``many``, ``medium`` and ``few`` (zeros for an empty group).
    """
    group = np.asarray(row['per_class_group'], dtype=object)
    pred = np.asarray(row['per_class_pred_count'], dtype=np.int64)
    gt = np.asarray(row['per_class_gt_count'], dtype=np.int64)
    tp = np.asarray(row['per_class_tp'], dtype=np.int64)
    counts = OrderedDict()
    for name in GROUPS:
        members = group == name
        counts[name] = dict(classes=int(members.sum()),
                            gt=int(gt[members].sum()),
                            pred=int(pred[members].sum()),
                            tp=int(tp[members].sum()),
                            fp=int((pred - tp)[members].sum()))
    return counts
