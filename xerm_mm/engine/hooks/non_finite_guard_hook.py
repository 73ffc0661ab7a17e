"""Stop training at the first non-finite loss; never save diverged weights."""
import math
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS
from xerm_mm.utils.checkpoint_checks import (all_finite, check_finite,
                                             non_finite_keys, state_dict_of)
from xerm_mm.utils.model import unwrap_model
from .log_steps import is_log_step, logger_interval

FIXES = ('Likely fixes: a lower learning rate (optim_wrapper.optimizer.lr; '
         'the current one is {lr}), training without --amp, checking the '
         'data (NaN/inf in the images or labels).')


class NonFiniteLossError(RuntimeError):
    """A training step gave a NaN/inf loss, gradient norm or weights."""


def _loss_terms(outputs: Optional[Dict]) -> Dict[str, torch.Tensor]:
    """The step's loss terms (keys holding ``loss``) as float tensors."""
    terms = {}
    for key, value in (outputs or {}).items():
        if 'loss' not in key:
            continue
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        if value.numel():
            terms[key] = value.detach().float().mean()
    return terms


def _everywhere(here: bool) -> bool:
    """``here`` of any process (one all-reduce in a distributed run), so
    that every process stops together instead of waiting on the others."""
    if get_world_size() == 1:
        return here
    flag = torch.tensor([float(here)])
    all_reduce(flag)
    return bool(flag.item())


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Stop a training that diverges, before anything of it is saved.

    Checks the loss terms and gradient norm on the logger's steps, the weights
    after each epoch and before every checkpoint, and raises
    :class:`NonFiniteLossError` at the first NaN/inf (docs/get_started.md).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 weights_interval: int = 0,
                 check_interval: Optional[int] = None) -> None:
        """
        Args:
            weights_interval (int): Also check the weights every this many
                training iterations (a pass over them and a host sync; for
                long epochs). 0: at the end of each epoch only.
            check_interval (int, optional): Check the kept loss terms every
                this many steps (1: every step, a host sync each). Defaults
                to None: the ``LoggerHook``'s interval.
        """
        if not isinstance(weights_interval, int) or weights_interval < 0:
            raise ValueError('NonFiniteGuardHook: weights_interval must be '
                             f'an int >= 0, got {weights_interval!r}')
        if check_interval is not None and (
                not isinstance(check_interval, int)
                or isinstance(check_interval, bool) or check_interval < 1):
            raise ValueError('NonFiniteGuardHook: check_interval must be an '
                             f'int >= 1 or None, got {check_interval!r}')
        self.weights_interval = weights_interval
        self.check_interval = check_interval
        self._pending: List[Tuple[str, Dict[str, torch.Tensor]]] = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        terms = _loss_terms(outputs)
        grad_norm = self._grad_norm(runner)
        if grad_norm is not None:
            device = next(iter(terms.values())).device if terms else None
            terms['grad_norm'] = torch.tensor(grad_norm, device=device)
        if terms:
            self._pending.append((self._where(runner, batch_idx), terms))
        interval = self.check_interval or logger_interval(runner)
        if is_log_step(runner, batch_idx, interval):
            self._check_pending(runner)
        if (self.weights_interval
                and (runner.iter + 1) % self.weights_interval == 0):
            self._check_weights(runner, self._where(runner, batch_idx))

    def _check_pending(self, runner) -> None:
        """Check the kept steps' terms at once; stop at the first bad one."""
        pending, self._pending = self._pending, []
        finite = [
            bool(ok) for ok in torch.stack([
                torch.isfinite(torch.stack(list(terms.values()))).all()
                for _, terms in pending
            ]).tolist()
        ] if pending else []
        bad_step = next((i for i, ok in enumerate(finite) if not ok), None)
        if not _everywhere(bad_step is not None):
            return
        if bad_step is None:
            self._stop(runner, self._where_last(runner),
                       'a non-finite loss in another process')
        where, terms = pending[bad_step]
        values = {key: float(value) for key, value in terms.items()}
        bad = [key for key, value in values.items() if not math.isfinite(value)]
        listed = ', '.join(f'{k}={v:.6g}' for k, v in values.items())
        self._stop(runner, where, f'non-finite {", ".join(bad)} ({listed})')

    def after_train_epoch(self, runner) -> None:
        self._check_pending(runner)
        self._check_weights(
            runner, f'the end of epoch {runner.epoch + 1} (iteration '
            f'{runner.iter} of the training)')

    def _check_weights(self, runner, where: str) -> None:
        weights = unwrap_model(runner).state_dict()
        here = not all_finite(weights)
        if not _everywhere(here):
            return
        what = (f'the weights hold NaN/inf (in '
                f'{", ".join(non_finite_keys(weights)[:10])})'
                if here else 'non-finite weights in another process')
        self._stop(runner, where, what)

    def _stop(self, runner, where: str, what: str) -> None:
        message = (f'Training diverged at {where}: {what}. Training stopped; '
                   'no checkpoint of the diverged model is saved. ' +
                   FIXES.format(lr=self._lr(runner)))
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
    def _where_last(runner) -> str:
        return f'iteration {runner.iter + 1} of the training'

    @staticmethod
    def _lr(runner) -> str:
        try:
            lrs = runner.optim_wrapper.get_lr()
        except (AttributeError, TypeError):
            return 'unknown'
        first = next(iter(lrs.values())) if isinstance(lrs, dict) else lrs
        return f'{first[0]:.4g}' if first else 'unknown'
