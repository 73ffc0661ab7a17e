"""Reach the model inside a runner or a model wrapper (DDP, FSDP, ...)."""
import torch.nn as nn
from mmengine.model import is_model_wrapper

__all__ = ['unwrap_model']


def unwrap_model(model_or_runner) -> nn.Module:
    """The bare model of a runner, a model wrapper or a model.

    MMEngine has no public helper for this (its own code repeats
    ``model.module if is_model_wrapper(model) else model``); this one is used
    by every hook of the package that reads the model.

    Args:
        model_or_runner (nn.Module | Runner): A model, a model wrapper
            registered in ``MODEL_WRAPPERS`` (``MMDistributedDataParallel``,
            ...), or an object with a ``model`` attribute (a Runner).

    Returns:
        nn.Module: ``model.module`` for a wrapper, else the model itself.
    """
    model = model_or_runner
    if not isinstance(model, nn.Module) and hasattr(model, 'model'):
        model = model.model
    return model.module if is_model_wrapper(model) else model
