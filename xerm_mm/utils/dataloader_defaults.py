"""The dataloader defaults that mmpretrain's train.py / test.py inject.

mmpretrain's tools fill every dataloader of the config with
``pin_memory=True``, ``persistent_workers=True`` (train.py only) and
``collate_fn=dict(type='default_collate')`` where the config leaves them out.
Ours do the same, with three fixes:

* ``pin_memory`` only where pinning has an effect (an accelerator other than
  Apple's MPS): elsewhere PyTorch pins nothing and warns at every new
  iterator, so it is set off there, whatever the config says.
* ``persistent_workers`` is only set where ``num_workers > 0`` (PyTorch
  refuses it without workers; our DigitsLT configs load in-process).
* A ``collate_fn`` (or ``worker_init_fn``) dict inherited from a package
  config (``_base_ = 'xerm_mm::...'`` or ``'mmpretrain::...'``) carries a
  ``_scope_`` key: MMEngine's ``Config`` adds it to the outermost dicts with a
  ``type`` of a scoped base, to build them in that package's registry. But
  ``Runner.build_dataloader`` does not build these two through a registry: it
  looks the function up in MMEngine's ``FUNCTIONS`` by type and binds every
  other key as an argument, so the collate function gets called with
  ``_scope_='xerm_mm'`` and fails with a ``TypeError``. The key is dropped.
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
        for fn_key in ('collate_fn', 'worker_init_fn'):
            if isinstance(loader.get(fn_key), dict):
                loader[fn_key].pop('_scope_', None)
