"""Per-epoch statistics of the xERM weights."""
from typing import Optional

import torch
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS


@HOOKS.register_module()
class XERMWeightStatsHook(Hook):
    """Log the mean / min / max over an epoch's iterations of ``w_ba``.

    Reads the batch-mean ``w_ba`` from the train step outputs (the
    ``XERMClassifier`` loss dict entry, a float or a 0-dim tensor) after
    every iteration and accumulates it where it lives (no host sync); at the
    end of the epoch it logs, and puts in the message hub as scalars,

        train/w_ba_epoch_{mean,min,max}     over the epoch's iterations
        train/w_imba_epoch_{mean,min,max}   with w_imba = 1 - w_ba

    (``w_imba``'s min is ``1 - max(w_ba)``). Under distributed training the
    statistics are those of this process's batches.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._sum: Optional[torch.Tensor] = None
        self._min: Optional[torch.Tensor] = None
        self._max: Optional[torch.Tensor] = None
        self._count = 0

    def before_train_epoch(self, runner) -> None:
        self._reset()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or 'w_ba' not in outputs:
            return
        value = outputs['w_ba']
        value = (value.detach().float().reshape(()) if isinstance(
            value, torch.Tensor) else torch.tensor(float(value)))
        if self._count == 0:
            self._sum, self._min, self._max = value, value, value
        else:
            self._sum = self._sum + value
            self._min = torch.minimum(self._min, value)
            self._max = torch.maximum(self._max, value)
        self._count += 1

    def after_train_epoch(self, runner) -> None:
        if self._count == 0:
            runner.logger.warning(
                "XERMWeightStatsHook: no 'w_ba' in this epoch's train step "
                'outputs (is the model an XERMClassifier?)')
            return
        mean, low, high = torch.stack(
            [self._sum / self._count, self._min, self._max]).tolist()
        stats = dict(
            w_ba=(mean, low, high), w_imba=(1 - mean, 1 - high, 1 - low))
        for name, values in stats.items():
            for stat, value in zip(('mean', 'min', 'max'), values):
                runner.message_hub.update_scalar(f'train/{name}_epoch_{stat}',
                                                 value)
        runner.logger.info(
            f'Epoch {runner.epoch + 1} xERM weights over {self._count} '
            'iterations: ' + ', '.join(
                f'{name} mean {v[0]:.4f} min {v[1]:.4f} max {v[2]:.4f}'
                for name, v in stats.items()))
        self._reset()
