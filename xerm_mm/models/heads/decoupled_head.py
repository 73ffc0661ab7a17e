"""Decoupling (Kang et al., ICLR 2020): cRT, tau-norm and LWS heads over a
frozen XE classifier (docs/methods.md).
"""
from typing import List, Tuple

import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample

from .two_view_head import TwoViewClsHead


class DecoupledClsHead(TwoViewClsHead, LinearClsHead):
    """Base of the decoupling heads: a frozen ``fc`` and a balanced view.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        predict_view (str): View used by :meth:`predict`. Defaults to
            ``'balanced'``.
        **kwargs: Arguments of ``LinearClsHead`` (``loss``, ``topk``,
            ``cal_acc``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 predict_view: str = 'balanced',
                 **kwargs):
        super().__init__(num_classes,
                         in_channels,
                         predict_view=predict_view,
                         **kwargs)
        self.fc.requires_grad_(False)

    def pre_views(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The pooled feature ``x`` (``LinearClsHead.pre_logits``)."""
        return self.pre_logits(feats)

    def imbalanced_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``fc(x)``: the frozen XE classifier's logits."""
        return self.fc(x)

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """The loss module on the balanced view (the part being trained)."""
        return self._get_loss(self.balanced_logits(self.pre_views(feats)),
                              data_samples, **kwargs)
