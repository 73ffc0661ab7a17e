"""A hook for the 2-process tests: each process saves the model buffers it
validates with (``{work_dir}/val_buffers_rank{R}.pt``)."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from xerm_mm.registry import HOOKS


@HOOKS.register_module()
class BuffersDumpHook(Hook):
    """Save the model's persistent buffers before each validation."""

    priority = 'VERY_LOW'

    def before_val_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        names = {name for name, _ in model.named_buffers()}
        buffers = {  # the persistent ones: those a checkpoint holds
            name: value.detach().clone()
            for name, value in model.state_dict().items() if name in names
        }
        torch.save(
            buffers,
            osp.join(runner.work_dir, f'val_buffers_rank{get_rank()}.pt'))
