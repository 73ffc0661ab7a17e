"""Seed the dataloader workers from (seed, epoch, rank, worker id).

Makes ``--resume`` draw the crops of an uninterrupted run, with persistent
workers too (docs/get_started.md, "Exact resume").
"""
import multiprocessing
from functools import partial
from typing import Callable, Optional

from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from xerm_mm.engine.rng_states import derive_seed, seed_all


class _EpochReseeder:
    """The ``__getitems__`` of a worker's dataset: reseed, then load."""

    def __init__(self, dataset, epoch, seed: int, rank: int,
                 worker_id: int) -> None:
        self.dataset = dataset
        self.getitems = getattr(dataset, '__getitems__', None)
        self.epoch = epoch
        self.seed = seed
        self.rank = rank
        self.worker_id = worker_id
        self.seeded_epoch: Optional[int] = None

    def __call__(self, indices):
        epoch = self.epoch.value
        if epoch != self.seeded_epoch:
            seed_all(derive_seed(self.seed, epoch, self.rank, self.worker_id))
            self.seeded_epoch = epoch
        if self.getitems is not None:
            return self.getitems(indices)
        return [self.dataset[index] for index in indices]


def _init_worker(worker_id: int, init_fn: Optional[Callable], epoch, seed: int,
                 rank: int) -> None:
    if init_fn is not None:
        init_fn(worker_id)
    # The worker's own copy of the dataset: PyTorch's fetcher calls its
    # ``__getitems__`` with each batch; ``epoch`` is an integer shared with
    # the main process, set before the epoch's iterator starts.
    dataset = get_worker_info().dataset
    dataset.__getitems__ = _EpochReseeder(dataset, epoch, seed, rank,
                                          worker_id)


class EpochWorkerSeeding:
    """Per-epoch seeds for the workers of one map-style dataloader.

    Args:
        dataloader (DataLoader): The loader; its ``worker_init_fn`` is
            wrapped (the one it had still runs first). Install before its
            first iterator starts the workers.
        seed (int): The run's seed.
        rank (int): The process's rank.

    Example:
        >>> seeding = EpochWorkerSeeding(loader, seed=0, rank=0)
        >>> seeding.set_epoch(2)  # before iter(loader) of that epoch
    """

    def __init__(self, dataloader: DataLoader, seed: int, rank: int) -> None:
        if isinstance(dataloader.dataset, IterableDataset):
            raise TypeError(
                'per-epoch worker seeds need a map-style dataset; '
                f'{type(dataloader.dataset).__name__} is iterable. Use '
                'num_workers=0 for exact resume.')
        if dataloader.batch_sampler is None:
            raise ValueError(
                'per-epoch worker seeds need a batched dataloader (a '
                'batch_size or a batch_sampler); this one has neither.')
        if getattr(dataloader, '_iterator', None) is not None:
            raise RuntimeError(
                'the persistent workers of this dataloader are running '
                'already; install EpochWorkerSeeding before its first epoch.')
        context = dataloader.multiprocessing_context or multiprocessing
        self.epoch = context.Value('q', -1)
        self.seed = seed
        dataloader.worker_init_fn = partial(_init_worker,
                                            init_fn=dataloader.worker_init_fn,
                                            epoch=self.epoch,
                                            seed=seed,
                                            rank=rank)

    def set_epoch(self, epoch: int) -> None:
        """Make the workers reseed for ``epoch`` at their next batch."""
        self.epoch.value = epoch
