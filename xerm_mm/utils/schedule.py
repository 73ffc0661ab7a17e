"""Fit an epoch-based LR/momentum schedule to ``train_cfg.max_epochs``."""
import logging
from typing import Any, Optional, Union

from mmengine.config import Config
from mmengine.logging import print_log


def check_max_epochs(cfg: Config) -> None:
    """Raise unless an epoch-based ``train_cfg.max_epochs`` is an int >= 1."""
    train_cfg = cfg.get('train_cfg') or {}
    if not train_cfg.get('by_epoch', True) or 'max_epochs' not in train_cfg:
        return
    epochs = train_cfg['max_epochs']
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'train_cfg.max_epochs must be an int >= 1, but is '
                         f'{epochs!r} (e.g. --cfg-options '
                         'train_cfg.max_epochs=12)')


def fit_schedule(schedulers: Union[dict, list, None],
                 cfg: Config,
                 logger: Optional[logging.Logger] = None) -> Any:
    """Leave out the epoch-based scheduler phases that begin after training.

    Args:
        schedulers (dict | list | None): The runner's ``param_schedulers``
            as configured (one phase, or a list of them; a dict of lists,
            one per optimizer, is returned as it is).
        cfg (Config): The merged config (its ``train_cfg``).
        logger (logging.Logger, optional): Where to warn about a phase left
            out (the runner's logger). Defaults to MMEngine's current one.

    Returns:
        The phases that run: ``schedulers`` without those that begin at or
        after ``train_cfg.max_epochs``.

    Raises:
        ValueError: ``train_cfg.max_epochs`` is not an int >= 1.
    """
    check_max_epochs(cfg)
    train_cfg = cfg.get('train_cfg') or {}
    single = isinstance(schedulers, dict) and 'type' in schedulers
    if not schedulers or not train_cfg.get('by_epoch', True) or \
            'max_epochs' not in train_cfg or \
            not (single or isinstance(schedulers, (list, tuple))):
        return schedulers
    epochs = train_cfg['max_epochs']
    kept = []
    for i, phase in enumerate([schedulers] if single else schedulers):
        begin = phase.get('begin', 0)
        if phase.get('by_epoch', True) and begin >= epochs:
            print_log(
                f"param_scheduler[{i}] ({phase.get('type')}) begins at epoch "
                f'{begin}, not before the last epoch (train_cfg.max_epochs='
                f'{epochs}): left out of this run',
                logger=logger or 'current',
                level=logging.WARNING)
        else:
            kept.append(phase)
    if single:
        return kept[0] if kept else None
    return kept


# Epoch-valued keys of MMEngine's epoch-based schedulers, scaled by
# stretch_schedule (milestones: a list of epochs).
_EPOCH_KEYS = ('begin', 'end', 'T_max', 'step_size', 'milestones')


def stretch_schedule(cfg: Config, factor: int) -> dict:
    """Overrides that train ``factor`` times the epochs with the same
    schedule shape: ``train_cfg.max_epochs`` and every epoch-based
    scheduler phase's ``begin``, ``end``, ``T_max``, ``step_size`` and
    ``milestones`` multiplied by ``factor`` (a warm-up of 1 epoch becomes
    ``factor`` epochs, milestones [8, 10] of 12 epochs [16, 20] of 24), so
    the learning rate decays at the same fractions of the run instead of the
    run going on at the final learning rate.

    Args:
        cfg (Config): A training config (its ``train_cfg`` and
            ``param_scheduler``, overrides already merged).
        factor (int): The multiple of the epochs, >= 1.

    Returns:
        dict: ``--cfg-options`` style ``{key: value}`` (list items by
        index, e.g. ``param_scheduler.1.milestones``).

    Raises:
        ValueError: ``factor`` is not an int >= 1, ``train_cfg.max_epochs``
            is not an int >= 1, or the schedule is iteration-based (its
            phases are not in epochs).
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f'the epochs factor must be an int >= 1, got '
                         f'{factor!r}')
    check_max_epochs(cfg)
    train_cfg = cfg.get('train_cfg') or {}
    if not train_cfg.get('by_epoch', True) or 'max_epochs' not in train_cfg:
        raise ValueError('stretching a schedule needs an epoch-based '
                         'train_cfg with max_epochs, got '
                         f'train_cfg={dict(train_cfg)!r}')
    options = {'train_cfg.max_epochs': train_cfg['max_epochs'] * factor}
    schedulers = cfg.get('param_scheduler')
    single = isinstance(schedulers, dict)
    for i, phase in enumerate([schedulers] if single else schedulers or []):
        if not phase.get('by_epoch', True):
            raise ValueError(
                f"param_scheduler[{i}] ({phase.get('type')}) is "
                'iteration-based (by_epoch=False): give it in epochs to '
                'stretch it with the epochs')
        prefix = 'param_scheduler.' if single else f'param_scheduler.{i}.'
        for key in _EPOCH_KEYS:
            value = phase.get(key)
            if isinstance(value, (list, tuple)):
                options[prefix + key] = [v * factor for v in value]
            elif isinstance(value, int) and not isinstance(value, bool):
                options[prefix + key] = value * factor
    return options
