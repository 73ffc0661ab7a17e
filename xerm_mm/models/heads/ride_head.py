"""RIDE's head: one normalised linear classifier per expert, logits averaged."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from xerm_mm.registry import MODELS
from .pc_head import PCHead


@MODELS.register_module()
class RIDEHead(PCHead):
    """Multi-expert head of RIDE (Wang et al., ICLR 2021) with a PC view.

    Expert ``k`` scores its slice of the pooled feature with a cosine
    classifier; the views are PC on the averaged logits and
    :meth:`expert_views` gives them per expert (docs/methods.md, "RIDE and
    xERM over it"). Class counts as :class:`PCHead`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Pooled feature dimension, ``num_experts * D``.
        num_experts (int): Number of experts. Defaults to 2.
        scale (float): Cosine scale ``s`` (RIDE's 30). Defaults to 30.0.
        tau (float): Multiplier of ``log(prior_train)`` in the balanced view.
            Defaults to 1.0.
        class_counts, test_prior, predict_view: As :class:`PCHead`.
        init_cfg (dict, optional): Defaults to None.
        **kwargs: ``loss``, ``topk`` of mmpretrain's ``ClsHead`` (not
            ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_experts: int = 2,
                 scale: float = 30.0,
                 tau: float = 1.0,
                 class_counts: Optional[Sequence[int]] = None,
                 test_prior: Optional[Sequence[float]] = None,
                 predict_view: str = 'balanced',
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        if num_experts < 1 or in_channels % num_experts:
            raise ValueError(
                f'RIDEHead: in_channels ({in_channels}) must be num_experts '
                f'({num_experts}) times the feature size of one expert '
                '(RIDEResNet32: num_experts * 48)')
        if kwargs.get('cal_acc'):
            raise ValueError('RIDEHead: cal_acc=True is not supported (the '
                             'loss gets the experts\' logits); read the '
                             'accuracy from validation instead')
        super().__init__(
            num_classes,
            in_channels,
            tau=tau,
            class_counts=class_counts,
            test_prior=test_prior,
            predict_view=predict_view,
            init_cfg=init_cfg,
            **kwargs)
        del self.fc  # the experts' classifiers below replace it
        self.num_experts = num_experts
        self.scale = float(scale)
        # Any scale works: the forward normalises every class vector.
        self.weight = nn.Parameter(
            torch.empty(num_experts, num_classes,
                        in_channels // num_experts).uniform_(-1, 1))

    def pre_views(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The experts' logits ``(N, K, C)``."""
        x = self.pre_logits(feats)
        x = x.reshape(x.size(0), self.num_experts, -1)
        return self.scale * torch.einsum('nkd,kcd->nkc',
                                         F.normalize(x, dim=-1),
                                         F.normalize(self.weight, dim=-1))

    def imbalanced_logits(self, experts: torch.Tensor) -> torch.Tensor:
        """``z``: the experts' logits averaged."""
        return experts.mean(dim=1)

    def _balancing(self) -> torch.Tensor:
        """``log(prior_test) - tau * log(prior_train)``, (C,)."""
        self._adjustment()  # raises the missing-counts error
        return self.log_prior_test - self.tau * self.log_prior_train

    def balanced_logits(self, experts: torch.Tensor) -> torch.Tensor:
        """``z - tau * log(prior_train) + log(prior_test)``."""
        return self.imbalanced_logits(experts) + self._balancing().to(
            experts.dtype)

    def expert_views(self,
                     feats: Tuple[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Both views of every expert, ``(N, K, C)`` each, from one pass."""
        experts = self.pre_views(feats)
        return dict(
            imbalanced=experts,
            balanced=experts + self._balancing().to(experts.dtype))

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """The loss module on the experts' logits ``(N, K, C)``."""
        loss_module = self.loss_module
        if (hasattr(loss_module, 'set_class_counts')
                and not loss_module.has_class_counts
                and self.has_class_counts):
            # The margins depend on the counts only through their ratios.
            loss_module.set_class_counts(self.log_prior_train.exp())
        return self._get_loss(self.pre_views(feats), data_samples, **kwargs)

    def extra_repr(self) -> str:
        return (f'num_experts={self.num_experts}, scale={self.scale}, '
                f'tau={self.tau}')
