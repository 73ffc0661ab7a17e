"""Learnable weight scaling (LWS) head of Decoupling (Kang et al., 2020)."""
import torch
from torch import nn

from xerm_mm.registry import MODELS
from .decoupled_head import DecoupledClsHead


@MODELS.register_module()
class LWSHead(DecoupledClsHead):
    """The frozen XE classifier with a learnt scale per class (``scales``).

    Views: imbalanced ``z = fc(x)``, balanced ``scales * z``
    (docs/methods.md, "Decoupling").

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        **kwargs: Arguments of :class:`DecoupledClsHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.scales = nn.Parameter(torch.ones(num_classes))

    def balanced_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``s * fc(x)``: the XE logits scaled per class."""
        return self.fc(x) * self.scales.to(x.dtype)
