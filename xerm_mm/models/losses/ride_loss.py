"""RIDE's training loss as the xERM authors trained their RIDE teacher
(docs/methods.md, "RIDE and xERM over it").
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from xerm_mm.registry import MODELS


def ldam_margins(class_counts, max_margin: float) -> torch.Tensor:
    """LDAM margins ``max_margin * (min(n) / n_c) ** (1 / 4)``, (C,) float32.

    Only the ratios of the counts matter (a prior gives the same margins).

    Raises:
        ValueError: A count is not positive.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64).flatten()
    if counts.numel() == 0 or not bool((counts > 0).all()):
        raise ValueError(f'class_counts must be positive, got '
                         f'{counts.tolist()}')
    return (max_margin * (counts.min() / counts)**0.25).float()


def as_experts(logits: torch.Tensor, name: str) -> torch.Tensor:
    """``(N, K, C)`` expert logits; ``(N, C)`` counts as one expert."""
    if logits.dim() == 2:
        return logits.unsqueeze(1)
    if logits.dim() != 3:
        raise ValueError(f'{name} must be (N, K, C) expert logits or (N, C) '
                         f'logits, got shape {tuple(logits.shape)}')
    return logits


class ClassMarginLoss(nn.Module):
    """Base of the losses with LDAM margins set from the class counts.

    Args:
        class_counts (Sequence[int], optional): Training images per class;
            may be set later with :meth:`set_class_counts` (``RIDEHead``
            gives its own). Not needed when ``max_margin`` is 0.
        max_margin (float): Margin of the rarest class, >= 0. Defaults to
            0.5 (the authors').
        scale (float): The margin is taken off in logit units times
            ``scale`` (the cosine scale of ``RIDEHead``). Defaults to 30.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 max_margin: float = 0.5,
                 scale: float = 30.0) -> None:
        super().__init__()
        if not max_margin >= 0:
            raise ValueError(f'max_margin must be >= 0, got {max_margin}')
        self.max_margin = float(max_margin)
        self.scale = float(scale)
        self.margins: Optional[torch.Tensor] = None
        if class_counts is not None:
            self.set_class_counts(class_counts)

    @property
    def has_class_counts(self) -> bool:
        """Whether the margins are known (always with ``max_margin=0``)."""
        return self.max_margin == 0 or self.margins is not None

    def set_class_counts(self, counts) -> None:
        """Set the margins from per-class counts (or any prior)."""
        self.margins = ldam_margins(counts, self.max_margin)

    def margin_logits(self, experts: torch.Tensor,
                      label: torch.Tensor) -> torch.Tensor:
        """``experts`` (N, K, C) with ``scale * margin[y]`` off logit ``y``."""
        if self.max_margin == 0:
            return experts
        if self.margins is None:
            raise RuntimeError(
                f'{type(self).__name__} has no class counts for its LDAM '
                'margins: give class_counts=..., use it in a RIDEHead whose '
                'counts are set (SetTrainClassCountsHook), or set '
                'max_margin=0')
        margins = self.margins.to(experts.device, experts.dtype)
        if margins.numel() != experts.size(-1):
            raise ValueError(f'{margins.numel()} class counts for '
                             f'{experts.size(-1)} classes')
        onehot = F.one_hot(label, experts.size(-1)).to(experts.dtype)
        shift = self.scale * margins[label, None] * onehot  # (N, C)
        return experts - shift.unsqueeze(1)

    def expert_ce(self, experts: torch.Tensor,
                  gt_label: torch.Tensor) -> torch.Tensor:
        """(N,) sum over the experts of the margin cross-entropy."""
        if gt_label.shape not in ((experts.size(0), ), (experts.size(0), 1)):
            raise ValueError(
                f'{type(self).__name__} needs one integer label per sample, '
                f'got gt_label of shape {tuple(gt_label.shape)} (batch '
                'augmentations with soft labels, mixup / cutmix, are not '
                'supported)')
        label = gt_label.long().reshape(-1)
        logits = self.margin_logits(experts.float(), label)
        log_p = F.log_softmax(logits, dim=-1)
        index = label.view(-1, 1, 1).expand(-1, log_p.size(1), 1)
        return -log_p.gather(-1, index)[..., 0].sum(dim=1)


@MODELS.register_module()
class RIDELoss(ClassMarginLoss):
    """The RIDE teacher's loss: ``mean_n sum_k CE(z_k - s m_y e_y, y)`` with
    the LDAM margins ``m_y`` (:func:`ldam_margins`).

    Args:
        class_counts, max_margin, scale: As :class:`ClassMarginLoss`.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 max_margin: float = 0.5,
                 scale: float = 30.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__(class_counts, max_margin, scale)
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, gt_label: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """``loss_weight`` times the batch mean of :meth:`expert_ce`.

        Args:
            cls_score (Tensor): (N, K, C) expert logits (or (N, C)).
            gt_label (Tensor): (N,) integer labels.
            **kwargs: Ignored (``avg_factor`` of mmpretrain's ``ClsHead``).
        """
        experts = as_experts(cls_score, 'cls_score')
        return self.loss_weight * self.expert_ce(experts, gt_label).mean()

    def extra_repr(self) -> str:
        return (f'max_margin={self.max_margin}, scale={self.scale}, '
                f'loss_weight={self.loss_weight}')
