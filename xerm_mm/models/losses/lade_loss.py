"""LADE: label-distribution-disentangling loss (Hong et al., CVPR 2021)."""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from xerm_mm.registry import MODELS
from .logit_adjusted_loss import (LogitAdjustedLoss, check_hard_labels,
                                  logit_adjusted_cross_entropy)


def lade_regulariser(pred: torch.Tensor,
                     label: torch.Tensor,
                     log_prior: torch.Tensor,
                     remine_lambda: float = 0.1) -> torch.Tensor:
    r"""The LADE term: a regularised Donsker-Varadhan bound, per class.

    Over a batch of :math:`N` samples, :math:`n_c` of class :math:`c`, with
    logits :math:`z` and training prior :math:`\pi`:

    .. math::
        T_1(c) = \frac{1}{n_c} \sum_{i: y_i = c} z_c(x_i), \quad
        T_2(c) = \log \sum_i e^{z_c(x_i) - \log \pi(c) - \log C} - \log N

        L = -\sum_c \pi(c) \big(T_1(c) - T_2(c) - \lambda T_2(c)^2\big)

    A class absent from the batch has :math:`T_1 = 0` (the authors divide by
    :math:`n_c + 10^{-8}`). Computed in float32 (autocast off inside).

    Args:
        pred (Tensor): ``(N, C)`` raw logits.
        label (Tensor): ``(N,)`` integer labels.
        log_prior (Tensor): ``(C,)`` log training class prior.
        remine_lambda (float): :math:`\lambda`, the weight of the ReMINE
            regulariser. Defaults to 0.1.

    Returns:
        Tensor: The scalar loss :math:`L`.
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        z = pred.float()
        num, num_classes = z.shape
        log_prior = log_prior.float().to(z.device)
        onehot = F.one_hot(label.long(), num_classes).to(z.dtype)
        per_class = onehot.sum(dim=0)
        first = (onehot * z).sum(dim=0) / (per_class + 1e-8)
        shifted = z - log_prior - math.log(num_classes)
        second = torch.logsumexp(shifted, dim=0) - math.log(num)
        bound = first - second - remine_lambda * second.square()
        return -(log_prior.exp() * bound).sum()


@MODELS.register_module()
class LADELoss(LogitAdjustedLoss):
    """The LADE training loss: ``PriorCE + lade_weight * L_LADE``, with the
    authors' CIFAR-100-LT defaults (docs/methods.md).

    Args:
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None (set later, as :class:`LogitAdjustedLoss`).
        lade_weight (float): Weight of ``L_LADE``. Defaults to 0.1.
        remine_lambda (float): Weight of the ReMINE regulariser inside
            ``L_LADE``. Defaults to 0.1.
        num_classes (int, optional): See :class:`LogitAdjustedLoss`.
        loss_weight (float): Multiplies the total. Defaults to 1.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 lade_weight: float = 0.1,
                 remine_lambda: float = 0.1,
                 num_classes: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        for name, value in (('lade_weight', lade_weight), ('remine_lambda',
                                                           remine_lambda)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f'LADELoss: {name} must be a finite number '
                                 f'>= 0, got {value!r}')
        super().__init__(class_counts, 1.0, num_classes, loss_weight)
        self.lade_weight = lade_weight
        self.remine_lambda = remine_lambda

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """``loss_weight * (PriorCE + lade_weight * L_LADE)``, batch means.

        Args:
            cls_score (Tensor): ``(N, C)`` raw logits ``z``.
            label (Tensor): ``(N,)`` integer labels.
            **kwargs: Ignored (``avg_factor`` of mmpretrain's ``ClsHead``;
                both terms are batch means).
        """
        check_hard_labels(cls_score, label, 'LADELoss')
        prior = self.log_prior(cls_score.shape[1])
        prior_ce = logit_adjusted_cross_entropy(cls_score, label, prior)
        lade = lade_regulariser(cls_score, label, prior, self.remine_lambda)
        return self.loss_weight * (prior_ce + self.lade_weight * lade)

    def extra_repr(self) -> str:
        return (f'lade_weight={self.lade_weight}, remine_lambda='
                f'{self.remine_lambda}, {super().extra_repr()}')
