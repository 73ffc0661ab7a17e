"""Exact resume: every random state of training in the checkpoints."""
from typing import Optional

import torch
from mmengine.dist import all_gather_object
from mmengine.hooks import Hook

from xerm_mm.engine.rng_states import (derive_seed, get_rng_states,
                                       set_rng_states)
from xerm_mm.engine.worker_seeding import EpochWorkerSeeding
from xerm_mm.registry import HOOKS

# The checkpoint key (plain data: torch.load(weights_only=True) loads it).
CHECKPOINT_KEY = 'rng_state'
# Bumped when the stored layout changes.
_VERSION = 1
# Salt of the seed of the dataloader's own generator (its workers' base seed).
_LOADER_SALT = 0x10ad


def _train_sampler(loader):
    sampler = loader.sampler
    if not hasattr(sampler, 'seed') and loader.batch_sampler is not None:
        sampler = getattr(loader.batch_sampler, 'sampler', sampler)
    return sampler


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Makes ``--resume`` reproduce an uninterrupted run bit for bit.

    Saves the random states (process generators, sampler seed) in every
    checkpoint, restores them on ``--resume`` (not ``load_from``) and reseeds
    the dataloader workers every epoch (docs/get_started.md, "Exact resume").
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._seed: Optional[int] = None
        self._states: Optional[dict] = None  # this rank's, end of last epoch
        self._all_states: Optional[list] = None  # every rank's
        self._states_iter: Optional[int] = None  # when they were taken
        self._loaded: Optional[dict] = None
        self._workers: Optional[EpochWorkerSeeding] = None

    def before_train(self, runner) -> None:
        self._seed = runner.seed
        loaded, self._loaded = self._loaded, None
        if loaded is not None and loaded['iter'] == runner.iter:
            self._restore(runner, loaded)
        elif runner.iter > 0:
            runner.logger.warning(
                f'Resumed at iteration {runner.iter} from a checkpoint '
                f"without '{CHECKPOINT_KEY}' of that iteration: the random "
                'crops, flips and worker seeds differ from an uninterrupted '
                'run, so the numbers will not match it exactly.')
        loader = runner.train_dataloader
        if loader.num_workers > 0:
            self._workers = EpochWorkerSeeding(loader, self._seed, runner.rank)

    def before_train_epoch(self, runner) -> None:
        if self._states is not None:
            set_rng_states(self._states)
        loader = runner.train_dataloader
        loader.generator = torch.Generator().manual_seed(
            derive_seed(self._seed, runner.epoch, runner.rank, _LOADER_SALT))
        if self._workers is not None:
            self._workers.set_epoch(runner.epoch)

    def after_train_epoch(self, runner) -> None:
        self._states = get_rng_states()
        self._all_states = (all_gather_object(self._states)
                            if runner.world_size > 1 else [self._states])
        self._states_iter = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._all_states is None or self._states_iter != runner.iter:
            # Saved within an epoch (iteration-based): this rank's states now.
            self._all_states = [get_rng_states()]
            self._states_iter = runner.iter
        sampler = _train_sampler(runner.train_dataloader)
        checkpoint[CHECKPOINT_KEY] = dict(version=_VERSION,
                                          iter=int(runner.iter),
                                          seed=self._seed,
                                          sampler_seed=getattr(
                                              sampler, 'seed', None),
                                          ranks=self._all_states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Kept until before_train: only a resume continues at its iteration.
        self._loaded = checkpoint.get(CHECKPOINT_KEY)
        if self._loaded is not None and self._loaded.get(
                'version') != _VERSION:
            raise ValueError(
                f"checkpoint['{CHECKPOINT_KEY}'] has version "
                f"{self._loaded.get('version')!r}; this xerm_mm reads "
                f'version {_VERSION}. Resume with the xerm_mm that wrote it.')

    def _restore(self, runner, loaded: dict) -> None:
        rank, world_size = runner.rank, runner.world_size
        ranks = loaded['ranks']
        if len(ranks) != world_size:
            runner.logger.warning(
                f'The checkpoint holds the random states of {len(ranks)} '
                f'processes, this run has {world_size}: rank {rank} takes '
                f'those of rank {rank % len(ranks)}, so the run will not '
                'match the interrupted one exactly.')
        self._states = ranks[rank % len(ranks)]
        set_rng_states(self._states, f"checkpoint['{CHECKPOINT_KEY}']")
        self._seed = loaded['seed']
        sampler = _train_sampler(runner.train_dataloader)
        if loaded['sampler_seed'] is not None and hasattr(sampler, 'seed'):
            sampler.seed = loaded['sampler_seed']
        runner.logger.info(
            f'Restored the random states of iteration {loaded["iter"]} '
            '(python, numpy, torch, sampler, worker seeds).')
