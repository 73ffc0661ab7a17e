"""Choosing Decoupling's tau-norm exponent on held-out balanced data."""
from typing import List, Sequence, Tuple

import numpy as np
import torch

from xerm_mm.models.heads.tau_norm_head import (check_norm_tau,
                                                tau_normalised_weight)

#: The default grid: 0, 0.1, ..., 2.0.
DEFAULT_TAUS = tuple(round(0.1 * i, 1) for i in range(21))


def class_mean_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of their accuracy (%)."""
    classes = np.unique(labels)
    if classes.size == 0:
        raise ValueError('class_mean_accuracy: no samples')
    return float(
        np.mean([np.mean(pred[labels == c] == c) for c in classes]) * 100)


def tau_norm_accuracies(feats: np.ndarray, labels: np.ndarray,
                        weight: torch.Tensor,
                        taus: Sequence[float]) -> List[float]:
    """Class-mean accuracy of the tau-normalised classifier, per ``tau``.

    Args:
        feats (np.ndarray): ``(N, D)`` features the head reads.
        labels (np.ndarray): ``(N,)`` classes.
        weight (torch.Tensor): ``(C, D)`` classifier weights (``fc.weight``).
        taus (Sequence[float]): The grid.

    Returns:
        list[float]: The accuracy (%) of each ``tau``, in order.
    """
    x = torch.as_tensor(feats, dtype=torch.float64)
    w = weight.detach().double()
    labels = np.asarray(labels)
    return [
        class_mean_accuracy(
            (x @ tau_normalised_weight(w, check_norm_tau(
                tau, 'taus')).t()).argmax(1).numpy(), labels)
        for tau in taus
    ]


def choose_tau(taus: Sequence[float],
               accuracies: Sequence[float]) -> Tuple[float, float]:
    """``(tau, accuracy)`` of the best accuracy; the smallest tau on ties."""
    if not taus or len(taus) != len(accuracies):
        raise ValueError('choose_tau: need one accuracy per tau, got '
                         f'{len(taus)} taus and {len(accuracies)} accuracies')
    best = max(accuracies)
    for tau, acc in zip(taus, accuracies):
        if acc == best:
            return float(tau), float(acc)
