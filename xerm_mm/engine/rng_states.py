"""The process-wide random generators' states as plain checkpoint data."""
import random
from typing import Sequence

import numpy as np
import torch

# The keys of the state of one process.
RNG_KEYS = ('python', 'numpy', 'torch', 'cuda')


def derive_seed(*entropy: int) -> int:
    """A 32-bit seed from non-negative ints (numpy's ``SeedSequence``).

    Args:
        *entropy: e.g. ``(seed, epoch, rank, worker_id)``; negative values
            are taken modulo ``2**64``.
    """
    words = [int(value) % 2**64 for value in entropy]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def seed_all(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch's."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_rng_states() -> dict:
    """The states of python's, numpy's, torch's (and CUDA's) generators."""
    version, words, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = []
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = [state.clone() for state in torch.cuda.get_rng_state_all()]
    return dict(python=dict(version=int(version),
                            state=torch.tensor(words, dtype=torch.int64),
                            gauss=gauss),
                numpy=dict(name=str(name),
                           keys=torch.from_numpy(keys.astype(np.int64)),
                           pos=int(pos),
                           has_gauss=int(has_gauss),
                           cached_gaussian=float(cached)),
                torch=torch.get_rng_state().clone(),
                cuda=cuda)


def _check_keys(states: dict, where: str) -> None:
    if not isinstance(states, dict) or set(states) != set(RNG_KEYS):
        got = sorted(states) if isinstance(states, dict) else type(states)
        raise KeyError(f'{where} holds {got}; RNG states written by '
                       f'xerm_mm.engine.rng_states have the keys '
                       f'{list(RNG_KEYS)}: the checkpoint was not written '
                       'by this version of xerm_mm.')


def set_rng_states(states: dict, where: str = 'rng states') -> None:
    """Restore what :func:`get_rng_states` returned.

    CUDA states are restored when this process sees as many CUDA devices as
    the one that saved them (else they are left as they are).

    Args:
        states (dict): The states.
        where (str): Where ``states`` come from, for the error message.
    """
    _check_keys(states, where)
    py = states['python']
    random.setstate(
        (py['version'], tuple(int(w) for w in py['state']), py['gauss']))
    npy = states['numpy']
    np.random.set_state((npy['name'], npy['keys'].numpy().astype(np.uint32),
                         npy['pos'], npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(states['torch'].cpu())
    cuda: Sequence[torch.Tensor] = states['cuda']
    if (cuda and torch.cuda.is_available()
            and torch.cuda.device_count() == len(cuda)):
        torch.cuda.set_rng_state_all([state.cpu() for state in cuda])
