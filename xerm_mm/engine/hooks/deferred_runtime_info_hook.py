"""MMEngine's RuntimeInfoHook without a host sync in every training step."""
from typing import Dict, List, Optional

import torch
from mmengine.hooks import RuntimeInfoHook

from xerm_mm.registry import HOOKS
from .log_steps import is_log_step, logger_interval


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """``RuntimeInfoHook`` that hands the step's outputs to the message hub in
    bursts, on the steps the logger writes (:mod:`.log_steps`): one host sync
    there instead of one a step, the same values in the message hub.

    Args:
        interval (int, optional): Hand over every this many steps. Defaults
            to None: the ``LoggerHook``'s interval.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and (not isinstance(interval, int)
                                     or isinstance(interval, bool)
                                     or interval < 1):
            raise ValueError('DeferredRuntimeInfoHook: interval must be an '
                             f'int >= 1 or None, got {interval!r}')
        self.interval = interval
        self._pending: List[Dict[str, object]] = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is not None:
            self._pending.append({
                key: value.detach() if isinstance(value, torch.Tensor) else
                value
                for key, value in outputs.items()
            })
        interval = self.interval or logger_interval(runner)
        if is_log_step(runner, batch_idx, interval):
            self.flush(runner)

    def flush(self, runner) -> None:
        """Put the kept outputs into the message hub (one transfer)."""
        pending, self._pending = self._pending, []
        tensors = [
            value.float().mean() for step in pending
            for value in step.values() if isinstance(value, torch.Tensor)
        ]
        host = iter(torch.stack(tensors).tolist() if tensors else [])
        hub = runner.message_hub
        for step in pending:
            for key, value in step.items():
                if isinstance(value, torch.Tensor):
                    value = next(host)
                hub.update_scalar(f'train/{key}', value)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Runner took the hub's state before calling the hooks: retake it.
        if self._pending:
            self.flush(runner)
            checkpoint['message_hub'] = runner.message_hub.state_dict()

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)
