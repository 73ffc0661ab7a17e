"""Reach the model inside a runner, a model wrapper (DDP, FSDP, ...) or a
test-time-augmentation model."""
import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper

__all__ = ['unwrap_model']


def unwrap_model(model_or_runner) -> nn.Module:
    """The bare model of a runner, a model wrapper or a model.

    MMEngine has no public helper for this (its own code repeats
    ``model.module if is_model_wrapper(model) else model``); this one is used
    by every hook of the package that reads the model.

    Args:
        model_or_runner (nn.Module | Runner): A model, a model wrapper
            registered in ``MODEL_WRAPPERS`` (``MMDistributedDataParallel``,
            ...), a ``BaseTTAModel`` (``tools/test.py --tta``), any nesting
            of these, or an object with a ``model`` attribute (a Runner).

    Returns:
        nn.Module: The innermost wrapped model, else the model itself.
    """
    model = model_or_runner
    if not isinstance(model, nn.Module) and hasattr(model, 'model'):
        model = model.model
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model
