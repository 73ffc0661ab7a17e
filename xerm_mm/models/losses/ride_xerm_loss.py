"""xERM over RIDE: the authors' per-expert form of the two xERM terms."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from xerm_mm.registry import MODELS
from .ride_loss import RIDELoss, as_experts
from .xerm_loss import XERMLoss, xerm_weights


@MODELS.register_module()
class RIDEXERMLoss(XERMLoss):
    r"""xERM loss of a multi-expert (RIDE) student, per expert.

    The form of the xERM authors' RIDE release (docs/methods.md, "RIDE and
    xERM over it"); ``eps`` sits in the balanced weight's denominator there.
    ``last_weights`` holds the batch means of ``w_imba`` and ``w_ba``.

    Args:
        gamma (float): Exponent of the weights (the authors': 1). Defaults
            to 1.0.
        class_counts, max_margin, scale: The LDAM margins, as
            :class:`RIDELoss` (``set_class_counts`` sets them later; a
            ``RIDEHead`` gives its own counts).
        constant_weight (float, optional): A fixed ``w_ba`` instead.
        eps (float): In the balanced weight's denominator. Defaults to 1e-5.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(self,
                 gamma: float = 1.0,
                 class_counts: Optional[Sequence[int]] = None,
                 max_margin: float = 0.5,
                 scale: float = 30.0,
                 constant_weight: Optional[float] = None,
                 eps: float = 1e-5,
                 loss_weight: float = 1.0) -> None:
        super().__init__(gamma, constant_weight, eps, loss_weight)
        self.ground_truth = RIDELoss(class_counts, max_margin, scale)

    @property
    def has_class_counts(self) -> bool:
        """Whether the LDAM margins are known."""
        return self.ground_truth.has_class_counts

    def set_class_counts(self, counts) -> None:
        """Set the LDAM margins from per-class counts (or a prior)."""
        self.ground_truth.set_class_counts(counts)

    def forward(self,
                cls_score: torch.Tensor,
                gt_label: torch.Tensor,
                imbalanced_score: Optional[torch.Tensor] = None,
                balanced_score: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """``loss_weight`` times the batch mean of the per-expert loss.

        Args:
            cls_score (Tensor): (N, K, C) student expert logits.
            gt_label (Tensor): (N,) integer labels.
            imbalanced_score (Tensor): (N, K, C) teacher expert logits.
            balanced_score (Tensor): (N, K, C) teacher balanced expert logits.
            **kwargs: Ignored (``avg_factor``).

        Returns:
            Tensor: Scalar float32 loss.
        """
        if imbalanced_score is None or balanced_score is None:
            raise ValueError(
                'RIDEXERMLoss needs both teacher scores: imbalanced_score= '
                'and balanced_score= ((N, K, C) expert logits, '
                'RIDEHead.expert_views of the teacher)')
        student = as_experts(cls_score, 'cls_score')
        t_imba = as_experts(imbalanced_score, 'imbalanced_score')
        t_ba = as_experts(balanced_score, 'balanced_score')
        for name, score in (('imbalanced_score', t_imba),
                            ('balanced_score', t_ba)):
            if score.shape != student.shape:
                raise ValueError(
                    f'{name} has shape {tuple(score.shape)}, the student '
                    f'{tuple(student.shape)}: the teacher needs as many '
                    'experts and classes as the student')
        label = gt_label.long().reshape(-1)
        with torch.autocast(device_type=student.device.type, enabled=False):
            log_f = F.log_softmax(student.float(), dim=-1)
            t_ba = t_ba.detach().float()
            with torch.no_grad():
                if self.constant_weight is not None:
                    w_ba = log_f.new_full(label.shape, self.constant_weight)
                else:
                    xe_imba = F.cross_entropy(
                        t_imba.detach().float().mean(dim=1),
                        label,
                        reduction='none')
                    xe_ba = F.cross_entropy(
                        t_ba.mean(dim=1), label, reduction='none')
                    w_ba = xerm_weights(xe_ba, xe_imba, self.gamma, self.eps)
                w_imba = 1 - w_ba
            hard = self.ground_truth.expert_ce(student, label)
            soft = -(t_ba.softmax(dim=-1) * log_f).sum(dim=-1).sum(dim=1)
            loss = w_imba * hard + w_ba * soft
        self.last_weights = {'w_imba': w_imba.mean(), 'w_ba': w_ba.mean()}
        return self.loss_weight * loss.mean()

    def extra_repr(self) -> str:
        return super().extra_repr() + ', per expert'
