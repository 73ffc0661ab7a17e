"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021) and Balanced
Softmax (Ren et al., NeurIPS 2020), its ``tau = 1`` case."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss

from xerm_mm.registry import MODELS
from ..utils.class_prior import check_tau, log_class_prior


def logit_adjusted_cross_entropy(
        pred: torch.Tensor,
        label: torch.Tensor,
        log_prior: torch.Tensor,
        tau: float = 1.0,
        weight: Optional[torch.Tensor] = None,
        reduction: str = 'mean',
        avg_factor: Optional[float] = None) -> torch.Tensor:
    r"""Cross-entropy of the prior-adjusted logits.

    .. math::
        \ell(x, y) = -\log \mathrm{softmax}(z + \tau \log \pi)_y

    with :math:`z` = ``pred`` and :math:`\log \pi` = ``log_prior``. Computed in
    float32 (autocast off inside).

    Args:
        pred (Tensor): ``(N, C)`` raw logits.
        label (Tensor): ``(N,)`` integer labels.
        log_prior (Tensor): ``(C,)`` log training class prior.
        tau (float): Scale of the log prior. Defaults to 1.0.
        weight (Tensor, optional): ``(N,)`` sample weights. Defaults to None.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
            Defaults to ``'mean'``.
        avg_factor (float, optional): Divisor of the ``'mean'`` reduction.
            Defaults to None.

    Returns:
        Tensor: The reduced loss (``(N,)`` with ``reduction='none'``).
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        adjusted = pred.float() + tau * log_prior.float().to(pred.device)
        loss = F.cross_entropy(adjusted, label.long(), reduction='none')
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def check_hard_labels(cls_score: torch.Tensor, label: torch.Tensor,
                      owner: str) -> None:
    """Refuse anything but ``(N, C)`` scores and ``(N,)`` class indices."""
    if cls_score.dim() != 2:
        raise ValueError(f'{owner}: cls_score must be (N, C) logits, got '
                         f'shape {tuple(cls_score.shape)}')
    if label.dim() != 1 or label.shape[0] != cls_score.shape[0]:
        raise ValueError(
            f'{owner} takes (N,) class indices, got labels of shape '
            f'{tuple(label.shape)} for {cls_score.shape[0]} samples (soft or '
            'one-hot labels, e.g. from Mixup / CutMix, are not supported)')


@MODELS.register_module()
class LogitAdjustedLoss(nn.Module):
    """Logit-adjusted loss, mean ``CE(z + tau * log(counts / sum), y)``.

    Menon et al., ICLR 2021. The training prior is the persistent buffer
    ``log_prior_train`` (NaN until counts are given).

    Args:
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None (set later).
        tau (float): Scale of the log prior, finite and >= 0.
            Defaults to 1.0.
        num_classes (int, optional): Number of classes, so that the prior
            buffer has its shape before counts are set (a head may give it
            later with :meth:`set_num_classes`, as :class:`LogitAdjustedHead`
            does). None: taken from the counts. Defaults to None.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 tau: float = 1.0,
                 num_classes: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau = check_tau(tau, type(self).__name__)
        self.loss_weight = loss_weight
        self.num_classes = num_classes
        # Without num_classes the buffer is empty until counts come (resized
        # by set_class_counts or load_state_dict).
        self.register_buffer('log_prior_train',
                             torch.full((num_classes or 0, ), torch.nan))
        if class_counts is not None:
            self.set_class_counts(class_counts)

    @property
    def has_class_counts(self) -> bool:
        """Whether the training prior is known."""
        prior = self.log_prior_train
        return prior.numel() > 0 and not bool(torch.isnan(prior).any())

    def set_num_classes(self, num_classes: int) -> None:
        """Fix the number of classes (a head calls it with its own).

        Raises:
            ValueError: Counts of another number of classes are set.
        """
        known = self.num_classes or self.log_prior_train.numel() or None
        if known is not None and known != num_classes:
            raise ValueError(f'{type(self).__name__} has class counts of '
                             f'{known} classes, the head {num_classes}')
        self.num_classes = num_classes
        if self.log_prior_train.numel() == 0:
            self.log_prior_train = self.log_prior_train.new_full(
                (num_classes, ), torch.nan)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Set the training prior from per-class training image counts."""
        prior = log_class_prior(counts, self.num_classes or len(counts),
                                'class_counts')
        if self.log_prior_train.numel() == 0:
            self.log_prior_train = prior.to(self.log_prior_train.device)
        else:
            # In place, as a wrapper (DDP) holds the buffer tensor itself.
            self.log_prior_train.copy_(prior)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint's prior sets the size of a still empty buffer.
        key = prefix + 'log_prior_train'
        if key in state_dict and self.log_prior_train.numel() == 0:
            self.log_prior_train = torch.empty_like(
                state_dict[key], device=self.log_prior_train.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def log_prior(self, num_classes: int) -> torch.Tensor:
        """The ``(num_classes,)`` log training prior; raise if unknown."""
        name = type(self).__name__
        if not self.has_class_counts:
            raise RuntimeError(
                f'{name} has no training class counts. Pass '
                f'class_counts=[...] to the loss, add '
                "SetTrainClassCountsHook to custom_hooks (it reads the "
                "dataset metainfo 'train_class_counts'), or call "
                '.set_class_counts(counts)')
        if self.log_prior_train.numel() != num_classes:
            raise ValueError(
                f'{name} has counts of {self.log_prior_train.numel()} '
                f'classes, the logits have {num_classes}')
        return self.log_prior_train

    def adjust(self, cls_score: torch.Tensor) -> torch.Tensor:
        """``z + tau * log prior``: the logits the training loss sees."""
        prior = self.log_prior(cls_score.shape[-1])
        return cls_score + self.tau * prior.to(cls_score.dtype)

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """``loss_weight`` times the reduced logit-adjusted cross-entropy.

        Args:
            cls_score (Tensor): ``(N, C)`` raw logits ``z``.
            label (Tensor): ``(N,)`` integer labels.
            weight (Tensor, optional): ``(N,)`` sample weights.
            avg_factor (float, optional): Divisor of the mean.
            reduction_override (str, optional): ``'none'``, ``'mean'`` or
                ``'sum'`` instead of the mean.

        Returns:
            Tensor: The loss.
        """
        check_hard_labels(cls_score, label, type(self).__name__)
        prior = self.log_prior(cls_score.shape[1])
        return self.loss_weight * logit_adjusted_cross_entropy(
            cls_score, label, prior, self.tau, weight,
            reduction_override or 'mean', avg_factor)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, num_classes={self.num_classes}, '
                f'loss_weight={self.loss_weight}')


@MODELS.register_module()
class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced Softmax (Ren et al., NeurIPS 2020): :class:`LogitAdjustedLoss`
    with ``tau = 1``, i.e. mean ``CE(z + log prior, y)``.

    Args:
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None (set later).
        num_classes (int, optional): See :class:`LogitAdjustedLoss`.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 num_classes: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__(class_counts, 1.0, num_classes, loss_weight)
