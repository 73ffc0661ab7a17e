"""A hook that holds a training after its first epoch while a file exists."""
import os.path as osp
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class PauseAfterFirstEpoch(Hook):
    """Hold the training after epoch 1 (its checkpoint saved) while ``flag``
    exists, so that a test can stop it there.

    Args:
        flag (str): The file; ``{flag}.paused`` is written when the training
            waits.
        timeout (float): Seconds after which the training goes on anyway.
    """
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def __init__(self, flag: str, timeout: float = 300) -> None:
        self.flag = flag
        self.timeout = timeout

    def after_train_epoch(self, runner) -> None:
        if runner.epoch != 0 or not osp.exists(self.flag):
            return
        open(f'{self.flag}.paused', 'w').close()
        start = time.monotonic()
        while (osp.exists(self.flag)
               and time.monotonic() - start < self.timeout):
            time.sleep(0.2)
