"""The dataloader defaults that mmpretrain's train.py / test.py inject, with
``pin_memory``, ``persistent_workers`` and ``_scope_`` fixed
(docs/get_started.md).
"""
import torch
from mmengine.config import Config

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def can_pin_memory() -> bool:
    """Whether a DataLoader's ``pin_memory`` pins here, as PyTorch decides
    it: an accelerator is available and it is not MPS."""
    accelerator = getattr(torch, 'accelerator', None)
    if accelerator is None:  # PyTorch < 2.6
        return torch.cuda.is_available()
    return accelerator.is_available() and \
        accelerator.current_accelerator().type != 'mps'


def set_dataloader_defaults(cfg: Config,
                            keys=DATALOADER_KEYS,
                            pin_memory: bool = True,
                            persistent_workers: bool = True) -> None:
    """Fill mmpretrain's defaults into the dataloaders ``keys`` of ``cfg``.

    Call it after the command-line overrides are merged: a value the config
    or ``--cfg-options`` gives is kept, except that False arguments (the
    tools' ``--no-pin-memory`` / ``--no-persistent-workers``) switch the
    option off everywhere, as in mmpretrain, and that ``pin_memory`` is off
    where :func:`can_pin_memory` is False.

    Args:
        cfg (Config): The config, changed in place.
        keys (tuple[str]): The dataloader fields to fill (absent or None
            ones are skipped).
        pin_memory (bool): Default ``pin_memory`` where pinning has an
            effect; False forces it off.
        persistent_workers (bool): Default ``persistent_workers`` where the
            loader has workers; False forces it off.
    """
    pinning = can_pin_memory()
    for key in keys:
        loader = cfg.get(key)
        if not loader:
            continue
        loader.setdefault('pin_memory', True)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if loader.get('num_workers', 0) > 0:
            loader.setdefault('persistent_workers', True)
        if not pin_memory or not pinning:
            loader['pin_memory'] = False
        if not persistent_workers and 'persistent_workers' in loader:
            loader['persistent_workers'] = False
        # Runner.build_dataloader looks these two up in MMEngine's FUNCTIONS
        # and passes every other key as an argument: the ``_scope_`` that a
        # package base config (``xerm_mm::``, ``mmpretrain::``) adds would
        # reach the function as a keyword and fail.
        for fn_key in ('collate_fn', 'worker_init_fn'):
            if isinstance(loader.get(fn_key), dict):
                loader[fn_key].pop('_scope_', None)
