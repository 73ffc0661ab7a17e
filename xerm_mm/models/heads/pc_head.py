"""Post-compensation (PC) head: a linear head with a prior-corrected view."""
from typing import Optional, Sequence, Tuple

import torch
from mmpretrain.models.heads import LinearClsHead

from xerm_mm.registry import MODELS
from ..utils.class_prior import check_tau, log_class_prior
from .two_view_head import TwoViewClsHead


@MODELS.register_module()
class PCHead(TwoViewClsHead, LinearClsHead):
    """Linear head whose balanced view is post-compensated (PC, post-hoc LA).

    Views: imbalanced ``z = fc(x)``, balanced ``z - tau * (log(prior_train) -
    log(prior_test))`` (docs/methods.md, "PCHead"). The training prior is the
    persistent buffer ``log_prior_train`` (NaN until counts are given).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension.
        class_counts (Sequence[int], optional): Training images per class.
            May be given later with :meth:`set_class_counts` (e.g. by a hook
            reading the dataset's ``metainfo['train_class_counts']``) or by
            loading a checkpoint. Defaults to None.
        test_prior (Sequence[float], optional): Class prior of the target test
            set (normalised here); None means uniform. Defaults to None.
        tau (float): Scale of the prior correction, finite and >= 0 (1 = PC,
            0 = no correction). Defaults to 1.0.
        predict_view (str): View used by :meth:`predict`, ``'imbalanced'`` or
            ``'balanced'``. Defaults to ``'balanced'``.
        **kwargs: Arguments of ``LinearClsHead`` (``loss``, ``topk``,
            ``cal_acc``, ``init_cfg``).

    The views, ``forward``, ``predict`` and ``predict_view`` are those of
    :class:`TwoViewClsHead`; the layer and its initialisation those of
    ``LinearClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 class_counts: Optional[Sequence[int]] = None,
                 test_prior: Optional[Sequence[float]] = None,
                 predict_view: str = 'balanced',
                 tau: float = 1.0,
                 **kwargs):
        tau = check_tau(tau, 'PCHead')
        super().__init__(num_classes,
                         in_channels,
                         predict_view=predict_view,
                         **kwargs)
        self.tau = tau
        self.register_buffer('log_prior_train',
                             torch.full((num_classes, ), float('nan')))
        if test_prior is None:
            test_prior = torch.ones(num_classes)
        self.register_buffer(
            'log_prior_test',
            log_class_prior(test_prior, num_classes, 'test_prior'),
            persistent=False)
        if class_counts is not None:
            self.set_class_counts(class_counts)

    @property
    def has_class_counts(self) -> bool:
        """Whether the training prior is known."""
        return not bool(torch.isnan(self.log_prior_train).any())

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Set the training prior from per-class training image counts.

        Args:
            counts (Sequence[int]): ``num_classes`` positive counts.
        """
        self.log_prior_train.copy_(
            log_class_prior(counts, self.num_classes, 'class_counts'))

    def _adjustment(self) -> torch.Tensor:
        if not self.has_class_counts:
            raise RuntimeError(
                'PCHead has no training class counts, so it cannot give the '
                'balanced view. Pass class_counts=... to the head, add '
                'SetTrainClassCountsHook (it reads the dataset metainfo '
                "'train_class_counts'), call head.set_class_counts(counts), "
                'or load a checkpoint saved by a head that had them.')
        return self.tau * (self.log_prior_test - self.log_prior_train)

    def pre_views(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The plain logits ``z = fc(x)`` (``LinearClsHead.forward``)."""
        return LinearClsHead.forward(self, feats)

    def imbalanced_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``z``: the plain logits."""
        return logits

    def balanced_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``z - tau * (log(prior_train) - log(prior_test))``."""
        return logits + self._adjustment().to(logits.dtype)
