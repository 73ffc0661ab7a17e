"""TDE head: causal-norm classifier with counterfactual (TDE) inference."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine import dist

from xerm_mm.registry import MODELS
from .two_view_head import TwoViewClsHead

_EPS = 1e-12


def _float32(x: torch.Tensor):
    """A context with autocast off on ``x``'s device: ops run in the
    inputs' dtype (float32 here)."""
    return torch.autocast(device_type=x.device.type, enabled=False)


def _unit(x: torch.Tensor) -> torch.Tensor:
    """``x / ||x||`` over the last dimension (norm clamped at a tiny eps)."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(_EPS)


@MODELS.register_module()
class TDEHead(TwoViewClsHead):
    r"""Causal-norm classifier of TDE (Tang et al., NeurIPS 2020).

    Views: imbalanced ``y_TE``, balanced ``y_TDE`` (docs/methods.md,
    "TDEHead"). The moving average ``moving_avg`` (and ``num_updates``; 0
    means none, and the balanced view raises) is updated in training mode,
    synchronised across processes; the head computes in float32.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension ``D``; must be divisible by
            ``num_heads``.
        num_heads (int): ``K``. Defaults to 2.
        tau (float): Logit scale. Defaults to 16.0.
        gamma (float): Weight-norm offset. Defaults to 1/32.
        alpha (float): Strength of the effect removal. Defaults to 1.5.
        momentum (float): ``mu`` of the moving average. Defaults to 0.9.
        lr_dependent_momentum (bool): If True, :meth:`set_momentum_from_lr`
            sets ``mu = 1 - 0.1 * min(50 * lr, 1)`` (a hook calls it once an
            epoch); if False that call keeps ``momentum``. Defaults to False.
        predict_view (str): View used by :meth:`predict`, ``'imbalanced'``
            (TE) or ``'balanced'`` (TDE). Defaults to ``'balanced'``.
        loss (dict): Loss on ``y_TE``. Defaults to CrossEntropyLoss.
        init_cfg (dict, optional): Defaults to None.
        **kwargs: Other arguments of ``ClsHead`` (``topk``, ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_heads: int = 2,
                 tau: float = 16.0,
                 gamma: float = 1.0 / 32.0,
                 alpha: float = 1.5,
                 momentum: float = 0.9,
                 lr_dependent_momentum: bool = False,
                 predict_view: str = 'balanced',
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(predict_view=predict_view,
                         loss=loss,
                         init_cfg=init_cfg,
                         **kwargs)
        if num_classes <= 0:
            raise ValueError(
                f'num_classes={num_classes} must be a positive integer')
        if num_heads <= 0 or in_channels % num_heads != 0:
            raise ValueError(f'in_channels={in_channels} must be divisible '
                             f'by num_heads={num_heads}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_heads = num_heads
        self.tau = tau
        self.gamma = gamma
        self.alpha = alpha
        self.momentum = momentum
        self.lr_dependent_momentum = lr_dependent_momentum

        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        bound = 1.0 / math.sqrt(in_channels)  # as the TDE authors'
        nn.init.uniform_(self.weight, -bound, bound)
        self.register_buffer('moving_avg', torch.zeros(in_channels))
        self.register_buffer('num_updates',
                             torch.zeros((), dtype=torch.long))
        self._avg_ready = False  # cache of num_updates > 0

    def set_momentum_from_lr(self, lr: float) -> float:
        """Set ``mu = 1 - 0.1 * min(50 * lr, 1)`` if lr-dependent.

        Meant to be called once an epoch (by a hook) with the current
        learning rate. Does nothing when ``lr_dependent_momentum`` is False.

        Args:
            lr (float): The current learning rate.

        Returns:
            float: The momentum now in use.
        """
        if self.lr_dependent_momentum:
            self.momentum = 1.0 - 0.1 * min(50.0 * float(lr), 1.0)
        return self.momentum

    @torch.no_grad()
    def _update_moving_avg(self, x: torch.Tensor) -> None:
        """``m <- mu * m + mean(x)``, the mean over all processes' batches."""
        x = x.detach().float()
        stats = torch.cat([x.sum(dim=0), x.new_tensor([x.size(0)])])
        dist.all_reduce(stats, op='sum')  # no-op unless world size > 1
        mean = stats[:-1] / stats[-1]
        self.moving_avg.mul_(self.momentum).add_(mean)
        self.num_updates += 1
        self._avg_ready = True

    def _moving_avg_ready(self) -> bool:
        """Whether ``m`` was ever updated: one host sync, then cached."""
        if not self._avg_ready:
            self._avg_ready = int(self.num_updates) > 0
        return self._avg_ready

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._avg_ready = False  # the loaded num_updates decides

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(*t.shape[:-1], self.num_heads, -1)

    def pre_views(self, feats: Tuple[torch.Tensor]):
        """Update ``m`` if training; return ``x_k_hat`` and ``w_kc_hat``.

        Both float32 (the features are cast, autocast is off inside).
        """
        x = self.pre_logits(feats)
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f'TDEHead expects features of shape (N, '
                             f'{self.in_channels}), got {tuple(x.shape)}')
        with _float32(x):
            x = x.float()
            if self.training:
                self._update_moving_avg(x)
            x_hat = _unit(self._split(x))  # (N, K, d)
            w = self._split(self.weight.float())  # (C, K, d)
            w_hat = w / (w.norm(dim=-1, keepdim=True) +
                         self.gamma).clamp_min(_EPS)
        return x_hat, w_hat

    def _logits(self, x_hat: torch.Tensor,
                w_hat: torch.Tensor) -> torch.Tensor:
        """``tau / K * sum_k x_hat_k . w_hat_kc`` -> ``(N, C)`` float32."""
        with _float32(x_hat):
            return torch.einsum('nkd,ckd->nc', x_hat,
                                w_hat) * (self.tau / self.num_heads)

    def _counterfactual(self, x_hat: torch.Tensor) -> torch.Tensor:
        """``x_k_hat - alpha * cos(x_k_hat, c_k_hat) * c_k_hat``."""
        if not self._moving_avg_ready():
            raise RuntimeError(
                'TDEHead: the moving average of features was never updated '
                '(no training-mode forward and no checkpoint with it), so '
                'the balanced (TDE) view is undefined. Train the head, load '
                'a checkpoint that has `moving_avg`, or use '
                "predict_view='imbalanced'.")
        with _float32(x_hat):
            c_hat = _unit(self._split(self.moving_avg.float()))  # (K, d)
            cos = (x_hat * c_hat).sum(dim=-1, keepdim=True)  # (N, K, 1)
            return x_hat - self.alpha * cos * c_hat

    def imbalanced_logits(self, pre) -> torch.Tensor:
        """``y_TE`` from ``(x_k_hat, w_kc_hat)``."""
        return self._logits(*pre)

    def balanced_logits(self, pre) -> torch.Tensor:
        """``y_TDE`` from ``(x_k_hat, w_kc_hat)``."""
        x_hat, w_hat = pre
        return self._logits(self._counterfactual(x_hat), w_hat)
