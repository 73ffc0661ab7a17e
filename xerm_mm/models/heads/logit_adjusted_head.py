"""Head of a network trained with a logit-adjusted loss (LA, BS, LADE)."""
import math
from typing import List, Optional, Sequence, Tuple

import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample

from xerm_mm.registry import MODELS
from ..utils.class_prior import log_class_prior
from .two_view_head import TwoViewClsHead


@MODELS.register_module()
class LogitAdjustedHead(TwoViewClsHead, LinearClsHead):
    """Linear head trained with a logit-adjusted loss, with both views.

    Views: imbalanced ``z + tau * log(prior_train)``, balanced ``z + tau *
    log(C * prior_test)``; the training prior is the loss module's
    (docs/methods.md, "LogitAdjustedHead").

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        loss (dict | nn.Module): A loss with ``adjust``, ``tau``,
            ``set_class_counts`` and ``set_num_classes`` (a
            ``LogitAdjustedLoss`` or subclass); its number of classes is set
            to the head's. Defaults to
            ``dict(type='xerm_mm.LogitAdjustedLoss')``.
        test_prior (Sequence[float], optional): Class prior of the target test
            set (normalised here); None means uniform. Defaults to None.
        predict_view (str): View used by :meth:`predict`. Defaults to
            ``'balanced'``.
        **kwargs: Arguments of ``LinearClsHead`` (``topk``, ``cal_acc``,
            ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: dict = dict(type='xerm_mm.LogitAdjustedLoss'),
                 test_prior: Optional[Sequence[float]] = None,
                 predict_view: str = 'balanced',
                 **kwargs):
        if isinstance(loss, dict):
            loss = MODELS.build(loss)
        missing = [
            name for name in ('adjust', 'tau', 'set_class_counts',
                              'set_num_classes') if not hasattr(loss, name)
        ]
        if missing:
            raise TypeError(
                f'LogitAdjustedHead needs a logit-adjusted loss (one with '
                f'adjust(), tau, set_class_counts() and set_num_classes(): '
                f'LogitAdjustedLoss, BalancedSoftmaxLoss, LADELoss); '
                f'{type(loss).__name__} lacks {missing}. For a network '
                'trained with plain CE use PCHead.')
        loss.set_num_classes(num_classes)
        super().__init__(num_classes,
                         in_channels,
                         loss=loss,
                         predict_view=predict_view,
                         **kwargs)
        if test_prior is None:
            shift = torch.zeros(num_classes)
        else:
            shift = log_class_prior(test_prior, num_classes,
                                    'test_prior') + math.log(num_classes)
        self.register_buffer('log_prior_test_shift', shift, persistent=False)

    @property
    def has_class_counts(self) -> bool:
        """Whether the loss module knows the training prior."""
        return self.loss_module.has_class_counts

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Set the training prior of the loss module from class counts."""
        self.loss_module.set_class_counts(counts)

    def pre_views(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The raw logits ``z = fc(x)`` (``LinearClsHead.forward``)."""
        return LinearClsHead.forward(self, feats)

    def imbalanced_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``z + tau * log(prior_train)`` (the loss module's ``adjust``)."""
        return self.loss_module.adjust(logits)

    def balanced_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``z + tau * log(C * prior_test)`` (``z`` for a uniform one)."""
        shift = self.loss_module.tau * self.log_prior_test_shift
        return logits + shift.to(logits.dtype)

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """The loss module on the raw logits ``z`` (it adds the prior)."""
        return self._get_loss(self.pre_views(feats), data_samples, **kwargs)
