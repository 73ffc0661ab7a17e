"""bfloat16 autocast training where MMEngine's AmpOptimWrapper cannot run."""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from xerm_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """OptimWrapper whose forward passes run under bfloat16 autocast (no loss
    scaler; gradients, parameters and optimizer state stay float32).

    Example:
        >>> optim_wrapper = dict(
        ...     type='AutocastOptimWrapper', dtype='bfloat16',
        ...     optimizer=dict(type='SGD', lr=0.1, momentum=0.9))

    Args:
        dtype (str | torch.dtype): The autocast type; only ``'bfloat16'``
            (on CUDA float16 needs AmpOptimWrapper's loss scaling).
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; None: MMEngine's
            current device. Defaults to None.
        **kwargs: Of :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 dtype='bfloat16',
                 device_type: Optional[str] = None,
                 **kwargs):
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype is not torch.bfloat16:
            raise ValueError(
                'AutocastOptimWrapper: optim_wrapper.dtype must be '
                f"'bfloat16', got {dtype!r}; for float16 on a GPU use "
                "type='AmpOptimWrapper', which scales the loss.")
        super().__init__(**kwargs)
        self.cast_dtype = dtype
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """Gradient-accumulation context of OptimWrapper, plus autocast."""
        with super().optim_context(model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
