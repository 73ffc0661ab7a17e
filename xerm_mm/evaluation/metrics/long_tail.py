"""Top-1 accuracy and many/medium/few-shot recall, precision and F1."""
import math
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from xerm_mm.registry import METRICS

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence[int]]

_GROUPS = ('many', 'medium', 'few')
_PRECISION_CONVENTIONS = ('zero', 'exclude')


def _as_int_array(value: ArrayLike, name: str) -> np.ndarray:
    """Convert a tensor, array or list of ints to a 1-D int64 array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f'`{name}` must be one-dimensional, got shape '
                         f'{array.shape}.')
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f'`{name}` must hold integers.')
    return array.astype(np.int64)


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values[mask]`` in percent, NaN when the mask is empty."""
    if not mask.any():
        return float('nan')
    return float(values[mask].mean() * 100)


def _harmonic(precision: float, recall: float) -> float:
    """2PR / (P + R), 0 when P + R == 0, NaN when either is NaN."""
    if math.isnan(precision) or math.isnan(recall):
        return float('nan')
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@METRICS.register_module()
class LongTailMetric(BaseMetric):
    r"""Top-1 accuracy and per-group (many/medium/few-shot) macro metrics.

    Classes are grouped by their number of training images; recall,
    precision, F1 and ``f1_of_means`` are defined in docs/metrics.md. The
    training counts come from ``train_class_counts`` or
    ``dataset_meta['train_class_counts']``.

    Args:
        many_thr (int): Classes with more training images are many-shot.
            Defaults to 100.
        few_thr (int): Classes with fewer training images are few-shot.
            Defaults to 20.
        undefined_precision (str): ``'zero'`` or ``'exclude'``
            (docs/metrics.md).
            Defaults to ``'zero'``.
        train_class_counts (Sequence[int], optional): Training images per
            class; overrides the dataset meta. Defaults to None.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None,
            which means ``'lt'``.

    Examples:
        >>> r = LongTailMetric.calculate([0, 1, 1], [0, 1, 2], [150, 50, 5])
        >>> r['top1'], r['few_recall'], r['per_class_tp']
        (66.66666666666667, 0.0, [1, 1, 0])
    """
    default_prefix: Optional[str] = 'lt'

    def __init__(self,
                 many_thr: int = 100,
                 few_thr: int = 20,
                 undefined_precision: str = 'zero',
                 train_class_counts: Optional[ArrayLike] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self._check_options(many_thr, few_thr, undefined_precision)
        self.many_thr = many_thr
        self.few_thr = few_thr
        self.undefined_precision = undefined_precision
        self.train_class_counts = (
            None if train_class_counts is None else _as_int_array(
                train_class_counts, 'train_class_counts').tolist())

    @staticmethod
    def _check_options(many_thr, few_thr, undefined_precision) -> None:
        if undefined_precision not in _PRECISION_CONVENTIONS:
            raise ValueError(
                '`undefined_precision` must be one of '
                f'{_PRECISION_CONVENTIONS}, got {undefined_precision!r}.')
        if few_thr > many_thr:
            raise ValueError(f'`few_thr` ({few_thr}) must not exceed '
                             f'`many_thr` ({many_thr}).')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the predicted and the ground-truth label of each sample.

        Only two ints per sample are stored, so gathering across ranks is
        cheap, and ``collect_results(size)`` drops the sampler's padding.

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs as dicts (the
                Evaluator calls ``DataSample.to_dict()``) with ``gt_label``
                and ``pred_label`` (or ``pred_score``, whose argmax is used).
        """
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = sample['pred_label']
            else:
                pred = torch.as_tensor(sample['pred_score']).argmax()
            self.results.append((int(pred), int(sample['gt_label'])))

    def _resolve_train_class_counts(self) -> List[int]:
        if self.train_class_counts is not None:
            return self.train_class_counts
        meta = self.dataset_meta or {}
        if meta.get('train_class_counts') is None:
            raise KeyError(
                f'{self.__class__.__name__} needs the number of training '
                "images per class: `dataset_meta['train_class_counts']` is "
                'missing. Put `train_class_counts` in the metainfo of the '
                'evaluated dataset, or pass `train_class_counts=[...]` to the '
                'metric.')
        counts = list(meta['train_class_counts'])
        classes = meta.get('classes')
        if classes is not None and len(classes) != len(counts):
            raise ValueError(f"dataset_meta has {len(classes)} classes but "
                             f"{len(counts)} train_class_counts.")
        return counts

    def compute_metrics(self, results: list) -> Dict[str, object]:
        """Compute the metrics from the collected ``(pred, gt)`` pairs.

        Args:
            results (list): ``(pred_label, gt_label)`` tuples of all samples.

        Returns:
            dict: See :meth:`calculate`.
        """
        counts = self._resolve_train_class_counts()
        pairs = np.asarray(results, dtype=np.int64).reshape(-1, 2)
        return self.calculate(pairs[:, 0],
                              pairs[:, 1],
                              counts,
                              many_thr=self.many_thr,
                              few_thr=self.few_thr,
                              undefined_precision=self.undefined_precision)

    @staticmethod
    def calculate(pred_labels: ArrayLike,
                  gt_labels: ArrayLike,
                  train_class_counts: ArrayLike,
                  many_thr: int = 100,
                  few_thr: int = 20,
                  undefined_precision: str = 'zero') -> Dict[str, object]:
        """Compute top-1 and per-group recall, precision and F1.

        Args:
            pred_labels (Tensor | ndarray | Sequence[int]): Predicted labels
                of shape (N, ).
            gt_labels (Tensor | ndarray | Sequence[int]): Ground-truth labels
                of shape (N, ).
            train_class_counts (Tensor | ndarray | Sequence[int]): Training
                images per class, shape (C, ).
            many_thr (int): Many-shot if count > many_thr. Defaults to 100.
            few_thr (int): Few-shot if count < few_thr. Defaults to 20.
            undefined_precision (str): ``'zero'`` or ``'exclude'``
                (docs/metrics.md). Defaults to ``'zero'``.

        Returns:
            dict: Floats in percent (NaN for an empty group): ``top1``,
            ``{many,medium,few}_{recall,precision,f1,f1_of_means}``,
            ``recall``, ``precision``, ``f1``, ``f1_of_means``; lists of
            C ints ``per_class_pred_count``, ``per_class_gt_count``,
            ``per_class_tp``, ``per_class_train_count``; and
            ``per_class_group``, the group of each class (``'many'``,
            ``'medium'`` or ``'few'``).
        """
        LongTailMetric._check_options(many_thr, few_thr, undefined_precision)
        pred = _as_int_array(pred_labels, 'pred_labels')
        gt = _as_int_array(gt_labels, 'gt_labels')
        train_counts = _as_int_array(train_class_counts, 'train_class_counts')
        num_classes = train_counts.size
        if pred.size != gt.size:
            raise ValueError(f'{pred.size} predictions but {gt.size} '
                             'ground-truth labels.')
        if gt.size == 0:
            raise ValueError('Cannot evaluate an empty set of predictions.')
        for name, labels in (('pred_labels', pred), ('gt_labels', gt)):
            if labels.min() < 0 or labels.max() >= num_classes:
                raise ValueError(
                    f'`{name}` must lie in [0, {num_classes}) (the length of '
                    f'train_class_counts), got [{labels.min()}, '
                    f'{labels.max()}].')

        pred_count = np.bincount(pred, minlength=num_classes)
        gt_count = np.bincount(gt, minlength=num_classes)
        tp = np.bincount(gt[pred == gt], minlength=num_classes)

        has_gt = gt_count > 0
        predicted = pred_count > 0
        recall = tp / np.maximum(gt_count, 1)
        precision = tp / np.maximum(pred_count, 1)
        f1 = 2 * tp / np.maximum(pred_count + gt_count, 1)
        f1_defined = has_gt | predicted
        if undefined_precision == 'zero':
            precision_defined = f1_defined
        else:
            precision_defined = predicted

        groups = {
            'many': train_counts > many_thr,
            'medium': (train_counts >= few_thr) & (train_counts <= many_thr),
            'few': train_counts < few_thr,
            '': np.ones(num_classes, dtype=bool),
        }
        metrics: Dict[str, object] = {'top1': float(tp.sum() * 100 / gt.size)}
        for group, members in groups.items():
            key = f'{group}_' if group else ''
            rec = _mean(recall, members & has_gt)
            prec = _mean(precision, members & precision_defined)
            metrics[f'{key}recall'] = rec
            metrics[f'{key}precision'] = prec
            metrics[f'{key}f1'] = _mean(f1, members & f1_defined)
            metrics[f'{key}f1_of_means'] = _harmonic(prec, rec)
        metrics['per_class_pred_count'] = pred_count.tolist()
        metrics['per_class_gt_count'] = gt_count.tolist()
        metrics['per_class_tp'] = tp.tolist()
        # What the groups were made of: plots read them with the counts.
        metrics['per_class_train_count'] = train_counts.tolist()
        group_of = np.empty(num_classes, dtype=object)
        for group in _GROUPS:
            group_of[groups[group]] = group
        metrics['per_class_group'] = group_of.tolist()
        return metrics
