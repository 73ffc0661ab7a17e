"""Stop training at the first non-finite loss; never save diverged weights."""
import math
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS
from xerm_mm.utils.checkpoint_checks import (all_finite, check_finite,
                                             non_finite_keys, state_dict_of)
from xerm_mm.utils.model import unwrap_model

FIXES = ('Likely fixes: a lower learning rate (optim_wrapper.optimizer.lr; '
         'the current one is {lr}), training without --amp, checking the '
         'data (NaN/inf in the images or labels).')


class NonFiniteLossError(RuntimeError):
    """A training step gave a NaN/inf loss, gradient norm or weights."""


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Stop a training that diverges, before anything of it is saved.

    * After each iteration: if a loss term of the step's outputs (the keys
      holding ``loss``) or the gradient norm that the optimizer wrapper logs
      when it clips (``train/grad_norm``; not under AMP's loss scaling, whose
      skipped steps have an inf norm on purpose) is NaN or inf, raise
      :class:`NonFiniteLossError` naming the epoch, the iteration, every loss
      term with its value and the likely fixes; the same if the update made
      the weights NaN/inf (a loss still finite, weights already overflowed).
      In several processes the verdict is shared, so every process stops.
    * Before any checkpoint is saved (the last, a "best" one after
      validation): raise if its weights hold NaN/inf, so no diverged model is
      ever written.

    Its priority (``ABOVE_NORMAL``) puts it before the logger and
    ``CheckpointHook`` (``VERY_LOW``). It is in ``default_hooks`` of
    ``configs/_base_/default_runtime.py`` (key ``non_finite_guard``).
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        terms = {
            key: _as_float(value)
            for key, value in (outputs or {}).items() if 'loss' in key
        }
        terms = {k: v for k, v in terms.items() if v is not None}
        grad_norm = self._grad_norm(runner)
        if grad_norm is not None:
            terms['grad_norm'] = grad_norm
        bad = [key for key, value in terms.items() if not math.isfinite(value)]
        weights = unwrap_model(runner).state_dict()
        here = bool(bad) or not all_finite(weights)
        if get_world_size() > 1:
            flag = torch.tensor([float(here)])
            all_reduce(flag)
            if flag.item() == 0:
                return
        elif not here:
            return
        values = ', '.join(f'{k}={v:.6g}' for k, v in terms.items())
        if bad:
            what = f'non-finite {", ".join(bad)} ({values})'
        elif here:
            what = (f'the weights hold NaN/inf after the update (in '
                    f'{", ".join(non_finite_keys(weights)[:10])}; {values})')
        else:
            what = 'a non-finite loss or weights in another process'
        message = (f'Training diverged at {self._where(runner, batch_idx)}: '
                   f'{what}. Training stopped; no checkpoint of the diverged '
                   'model is saved. ' + FIXES.format(lr=self._lr(runner)))
        runner.logger.error(message)
        raise NonFiniteLossError(message)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        check_finite(state_dict_of(checkpoint),
                     f'the checkpoint being saved at epoch {runner.epoch}, '
                     f'iteration {runner.iter} (not written)')

    @staticmethod
    def _grad_norm(runner) -> Optional[float]:
        if hasattr(runner.optim_wrapper, 'loss_scaler'):
            return None  # AMP: inf norms are skipped steps, not divergence
        buffer = runner.message_hub.log_scalars.get('train/grad_norm')
        if buffer is None or not len(buffer.data[0]):
            return None
        return float(buffer.current())

    @staticmethod
    def _where(runner, batch_idx: int) -> str:
        loader = runner.train_loop.dataloader
        return (f'epoch {runner.epoch + 1}, iteration {batch_idx + 1}/'
                f'{len(loader)} of the epoch (iteration {runner.iter + 1} '
                'of the training)')

    @staticmethod
    def _lr(runner) -> str:
        try:
            lrs = runner.optim_wrapper.get_lr()
        except (AttributeError, TypeError):
            return 'unknown'
        first = next(iter(lrs.values())) if isinstance(lrs, dict) else lrs
        return f'{first[0]:.4g}' if first else 'unknown'
