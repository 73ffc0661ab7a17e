"""Learnable weight scaling (LWS) head of Decoupling (Kang et al., 2020)."""
import torch
from torch import nn

from xerm_mm.registry import MODELS
from .decoupled_head import DecoupledClsHead


@MODELS.register_module()
class LWSHead(DecoupledClsHead):
    """The frozen XE classifier with a learnt scale per class.

    LWS keeps the XE network (backbone and classifier) and learns only one
    scale ``s_c`` per class with class-balanced sampling, i.e. the classifier
    ``s_c * w_c`` (and ``s_c * b_c``). Views from one feature pass ``x``:

    - imbalanced: ``z = fc(x)``, the XE classifier (frozen);
    - balanced: ``s * z``, the scaled logits (what the loss trains and, by
      default, what the head predicts with).

    The scales start at 1 (the XE classifier) and are the only trainable
    parameters of the head (``scales``, saved in checkpoints).

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
