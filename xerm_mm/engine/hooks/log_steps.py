"""The training steps the logger writes: where a hook may read its tensors on
the host (``.item()`` waits for the device).
"""
from mmengine.hooks import LoggerHook


def logger_interval(runner) -> int:
    """The ``interval`` of the runner's ``LoggerHook``; 1 without one."""
    for hook in getattr(runner, 'hooks', ()):
        if isinstance(hook, LoggerHook):
            return max(int(hook.interval), 1)
    return 1


def is_log_step(runner, batch_idx: int, interval: int) -> bool:
    """Whether training step ``batch_idx`` of the epoch is a log step.

    True every ``interval`` steps of the epoch and on its last step (where
    ``LoggerHook`` writes a line too, with ``ignore_last=False``).
    """
    if interval <= 1 or (batch_idx + 1) % interval == 0:
        return True
    try:
        return batch_idx + 1 >= len(runner.train_loop.dataloader)
    except (AttributeError, TypeError):
        return True
