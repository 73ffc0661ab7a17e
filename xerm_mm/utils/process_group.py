"""The end of a multi-process run."""
import torch.distributed as dist


def close_process_group() -> None:
    """Wait for every rank, then destroy the default process group.

    A no-op in a single-process run. At the end of ``tools/train.py`` /
    ``tools/test.py`` under torchrun: a rank that reaches interpreter exit
    with the process group (and its gloo / nccl threads) still alive can be
    aborted by the C++ runtime ("terminate called without an active
    exception") while the other rank is still saving or evaluating; so every
    rank meets at a barrier first and tears the group down itself.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
