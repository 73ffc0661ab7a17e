"""Classifier re-training (cRT) head of Decoupling (Kang et al., ICLR 2020)."""
import torch
from torch import nn

from xerm_mm.registry import MODELS
from .decoupled_head import DecoupledClsHead


@MODELS.register_module()
class CRTHead(DecoupledClsHead):
    """The frozen XE classifier ``fc`` and a re-trained one, ``crt_fc``.

    Views: imbalanced ``fc(x)``, balanced ``crt_fc(x)`` (trained, initialised
    as ``LinearClsHead`` does) (docs/methods.md, "Decoupling").

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        **kwargs: Arguments of :class:`DecoupledClsHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.crt_fc = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.crt_fc.weight, std=0.01)
        nn.init.zeros_(self.crt_fc.bias)

    def balanced_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``crt_fc(x)``: the class-balanced re-trained classifier."""
        return self.crt_fc(x)
