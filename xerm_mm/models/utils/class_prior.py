"""The log class prior that PC, logit adjustment and LADE correct for."""
import math
from typing import Sequence

import torch


def log_class_prior(values: Sequence[float], num_classes: int,
                    name: str) -> torch.Tensor:
    """``log(values / values.sum())`` after checking length and positivity.

    Args:
        values (Sequence[float]): Per-class counts or (unnormalised) prior.
        num_classes (int): The number of entries expected.
        name (str): What ``values`` is called in error messages.

    Returns:
        Tensor: ``(num_classes,)`` float32 log prior.

    Raises:
        ValueError: Another number of entries, or an entry <= 0.
    """
    values = torch.as_tensor(values, dtype=torch.float64).flatten()
    if values.numel() != num_classes:
        raise ValueError(f'{name} has {values.numel()} entries, expected '
                         f'num_classes={num_classes}')
    if not bool((values > 0).all()):
        raise ValueError(f'every entry of {name} must be > 0, got '
                         f'{values.tolist()}')
    return (values / values.sum()).log().float()


def check_tau(tau: float, owner: str) -> float:
    """Return ``tau`` as a float if it is finite and >= 0, else raise.

    Args:
        tau (float): Scale of the log prior.
        owner (str): The class taking it, for the message.
    """
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau >= 0):
        raise ValueError(f'{owner}: tau scales the log class prior and must '
                         f'be a finite number >= 0 (1 = the full prior, 0 = '
                         f'none), got {tau!r}')
    return float(tau)
