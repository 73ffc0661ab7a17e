"""Tau-normalised classifier head of Decoupling (Kang et al., ICLR 2020)."""
import math

import torch

from xerm_mm.registry import MODELS
from .decoupled_head import DecoupledClsHead


def check_norm_tau(tau, owner: str) -> float:
    """Return ``tau`` as a float if it is finite and >= 0, else raise."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or \
            not math.isfinite(tau) or tau < 0:
        raise ValueError(f'{owner}: tau must be a finite number >= 0 (0: the '
                         'plain weights, 1: unit-norm weights), got '
                         f'{tau!r}')
    return float(tau)


def tau_normalised_weight(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """``w_c / ||w_c||^tau`` for every row ``w_c`` of ``weight``."""
    norms = weight.norm(dim=1, keepdim=True)
    return weight / norms.clamp_min(torch.finfo(weight.dtype).tiny).pow(tau)


@MODELS.register_module()
class TauNormHead(DecoupledClsHead):
    """An XE linear classifier whose balanced view is tau-normalised.

    Views: imbalanced ``W x + b``, balanced ``W_tau x`` with rows ``w_c /
    ||w_c||^tau`` and no bias (docs/methods.md, "Decoupling").

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        tau (float): Exponent of the norm, finite and >= 0. Defaults to 1.0.
        **kwargs: Arguments of :class:`DecoupledClsHead`.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 tau: float = 1.0, **kwargs):
        self.tau = check_norm_tau(tau, 'TauNormHead')
        super().__init__(num_classes, in_channels, **kwargs)
        # Post hoc only: the plain classifier trains as in XE.
        self.fc.requires_grad_(True)

    def balanced_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ (w_c / ||w_c||^tau)^T`` (no bias)."""
        return x @ tau_normalised_weight(self.fc.weight, self.tau).t()

    def loss(self, feats, data_samples, **kwargs) -> dict:
        """Plain cross-entropy on ``W x + b`` (XE training)."""
        return self._get_loss(self.forward(feats), data_samples, **kwargs)
