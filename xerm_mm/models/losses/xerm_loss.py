"""The xERM loss: cross-domain empirical risk minimisation (Zhu et al.)."""
import math
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from xerm_mm.registry import MODELS

# Cross-entropies are clamped to this before their log is taken, so that
# ``gamma * log(XE)`` stays finite for XE == 0 (a perfect teacher, in float32)
# whatever the sign of gamma. A cross-entropy this small is 0 for all purposes.
_MIN_XE = 1e-30


class XERMLossOutput(NamedTuple):
    """Per-sample result of :func:`xerm_loss` (unpacks as a 3-tuple).

    Attributes:
        loss (Tensor): (N,) float32 loss of each sample; carries the gradient
            with respect to ``cls_score``.
        w_imba (Tensor): (N,) float32 weight of the ground-truth term.
        w_ba (Tensor): (N,) float32 weight of the balanced-teacher term,
            ``1 - w_imba``.
    """
    loss: torch.Tensor
    w_imba: torch.Tensor
    w_ba: torch.Tensor


def _check_hparams(gamma: float, constant_weight: Optional[float],
                   eps: float) -> None:
    if not math.isfinite(gamma):
        raise ValueError(f'gamma must be a finite number, got {gamma}')
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f'eps must be finite and >= 0, got {eps}')
    if constant_weight is not None and not 0.0 <= constant_weight <= 1.0:
        raise ValueError('constant_weight must be None or a number in '
                         f'[0, 1], got {constant_weight}')


def xerm_weights(xe_imba: torch.Tensor,
                 xe_ba: torch.Tensor,
                 gamma: float = 2.0,
                 eps: float = 1e-5) -> torch.Tensor:
    r"""The xERM weight of the ground-truth term, from the teachers' losses.

    .. math::
        w_{imba} = \frac{XE_{imba}^\gamma}
                        {XE_{imba}^\gamma + XE_{ba}^\gamma + \epsilon}

    exactly the authors' formula (``eps`` in the denominator), evaluated in
    log space as ``exp(a - logsumexp(a, b, log eps))`` with
    ``a = gamma * log XE_imba`` and ``b = gamma * log XE_ba``: no power can
    overflow (large XE, large gamma) or divide by zero (XE = 0, gamma < 0).
    XE is clamped to ``1e-30`` first.

    Special values:

    * ``gamma == 0``: exactly 0.5 (the formula would give ``1 / (2 + eps)``).
    * Both teachers perfect (both XE well below ``eps ** (1 / gamma)``,
      gamma > 0): ``eps`` dominates and ``w_imba -> 0``, i.e. all weight on the
      balanced teacher, as in the authors' code. We keep it: a perfect
      balanced teacher's distribution is then (nearly) one-hot on the label,
      so both terms are (nearly) the same plain cross-entropy and the choice
      does not matter; a symmetric 0.5 would buy nothing but a deviation from
      the authors' implementation (github.com/BeierZhu/xERM).
    * gamma < 0 reverses the preference (the teacher that fits worse gets the
      larger weight); with both XE = 0 the weights are 0.5 / 0.5.

    Args:
        xe_imba (Tensor): (N,) cross-entropy of the imbalanced teacher, >= 0.
        xe_ba (Tensor): (N,) cross-entropy of the balanced teacher, >= 0.
        gamma (float): Scaling exponent, any finite real. Defaults to 2.0.
        eps (float): Added to the denominator, >= 0. Defaults to 1e-5.

    Returns:
        Tensor: (N,) ``w_imba`` in [0, 1], in the dtype of the inputs.
    """
    if gamma == 0:
        return torch.full_like(xe_imba, 0.5)
    log_xe = torch.stack([xe_imba, xe_ba], dim=-1).clamp_min(_MIN_XE).log()
    log_eps = math.log(eps) if eps > 0 else -math.inf
    terms = torch.cat(
        [gamma * log_xe,
         log_xe.new_full(xe_imba.shape + (1, ), log_eps)],
        dim=-1)
    return (terms[..., 0] - torch.logsumexp(terms, dim=-1)).exp()


def xerm_loss(cls_score: torch.Tensor,
              gt_label: torch.Tensor,
              imbalanced_score: torch.Tensor,
              balanced_score: torch.Tensor,
              gamma: float = 2.0,
              constant_weight: Optional[float] = None,
              eps: float = 1e-5) -> XERMLossOutput:
    r"""Per-sample xERM loss of a student against two frozen teachers.

    With :math:`f` the student's softmax, :math:`p_{imba}, p_{ba}` the
    teachers' softmax and :math:`y` the label:

    .. math::
        XE_{imba} = -\log p_{imba}(y|x), \quad XE_{ba} = -\log p_{ba}(y|x)

        w_{imba} = \frac{XE_{imba}^\gamma}
                        {XE_{imba}^\gamma + XE_{ba}^\gamma + \epsilon},
        \quad w_{ba} = 1 - w_{imba}

        \ell = w_{imba} \, (-\log f_y(x))
             + w_{ba} \, \Big(-\sum_j p_{ba}(j|x) \log f_j(x)\Big)

    See :func:`xerm_weights` for how the weight is computed and its values at
    gamma = 0, for perfect teachers and for negative gamma. With
    ``constant_weight=w`` (the distillation ablation) ``w_ba = w`` and
    ``w_imba = 1 - w``: ``w = 0`` is plain cross-entropy, ``w = 1``
    distillation from the balanced teacher.

    The teacher scores are detached and the weights carry no gradient. All is
    computed in float32 (inputs cast with ``.float()``, autocast disabled
    inside), with ``log_softmax``, so fp16 / bf16 inputs, autocast and huge
    logits give finite values and gradients.

    Args:
        cls_score (Tensor): (N, C) raw logits of the student.
        gt_label (Tensor): (N,) integer labels.
        imbalanced_score (Tensor): (N, C) raw logits of the imbalanced teacher.
        balanced_score (Tensor): (N, C) raw logits of the balanced teacher.
        gamma (float): Scaling exponent of the weights, any finite real.
            Defaults to 2.0.
        constant_weight (float, optional): If given, the fixed ``w_ba`` in
            [0, 1] instead of the xERM weights. Defaults to None.
        eps (float): Added to the weights' denominator (the authors' 1e-5).
            Defaults to 1e-5.

    Returns:
        XERMLossOutput: ``(loss, w_imba, w_ba)``, each (N,) float32.
    """
    _check_hparams(gamma, constant_weight, eps)
    if cls_score.dim() != 2:
        raise ValueError('cls_score must be (N, C) logits, got shape '
                         f'{tuple(cls_score.shape)}')
    for name, score in (('imbalanced_score', imbalanced_score),
                        ('balanced_score', balanced_score)):
        if score.shape != cls_score.shape:
            raise ValueError(f'{name} has shape {tuple(score.shape)}, '
                             f'cls_score {tuple(cls_score.shape)}')
    if gt_label.shape != cls_score.shape[:1]:
        raise ValueError(f'gt_label must have shape ({cls_score.shape[0]},), '
                         f'got {tuple(gt_label.shape)}')

    with torch.autocast(device_type=cls_score.device.type, enabled=False):
        label = gt_label.long().unsqueeze(1)
        log_f = F.log_softmax(cls_score.float(), dim=1)
        log_p_ba = F.log_softmax(balanced_score.detach().float(), dim=1)
        with torch.no_grad():
            if constant_weight is not None:
                w_imba = log_f.new_full(gt_label.shape, 1 - constant_weight)
            else:
                log_p_imba = F.log_softmax(imbalanced_score.detach().float(),
                                           dim=1)
                w_imba = xerm_weights(-log_p_imba.gather(1, label)[:, 0],
                                      -log_p_ba.gather(1, label)[:, 0], gamma,
                                      eps)
            w_ba = 1 - w_imba
        hard = -log_f.gather(1, label)[:, 0]
        soft = -(log_p_ba.exp() * log_f).sum(dim=1)
        loss = w_imba * hard + w_ba * soft
    return XERMLossOutput(loss, w_imba, w_ba)


@MODELS.register_module()
class XERMLoss(nn.Module):
    """xERM loss module, the batch mean of :func:`xerm_loss`; ``last_weights``
    holds the batch means of ``w_imba`` and ``w_ba`` (detached tensors).

    Args:
        gamma (float): Scaling exponent of the weights. Defaults to 2.0.
        constant_weight (float, optional): Fixed ``w_ba`` in [0, 1] instead of
            the xERM weights (distillation ablation). Defaults to None.
        eps (float): Added to the weights' denominator. Defaults to 1e-5.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 constant_weight: Optional[float] = None,
                 eps: float = 1e-5,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        _check_hparams(gamma, constant_weight, eps)
        self.gamma = gamma
        self.constant_weight = constant_weight
        self.eps = eps
        self.loss_weight = loss_weight
        self.last_weights: dict = {}

    def forward(self,
                cls_score: torch.Tensor,
                gt_label: torch.Tensor,
                imbalanced_score: Optional[torch.Tensor] = None,
                balanced_score: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """Compute ``loss_weight`` times the batch mean of the xERM loss.

        Args:
            cls_score (Tensor): (N, C) raw logits of the student.
            gt_label (Tensor): (N,) integer labels.
            imbalanced_score (Tensor): (N, C) logits of the imbalanced
                teacher. Required.
            balanced_score (Tensor): (N, C) logits of the balanced teacher.
                Required.
            **kwargs: Ignored (e.g. ``avg_factor`` passed by mmpretrain's
                ``ClsHead``; the loss is always the mean over the batch).

        Returns:
            Tensor: Scalar float32 loss.
        """
        if imbalanced_score is None or balanced_score is None:
            raise ValueError(
                'XERMLoss needs both teacher scores: pass imbalanced_score= '
                'and balanced_score= (raw (N, C) logits of the teachers)')
        loss, w_imba, w_ba = xerm_loss(cls_score, gt_label, imbalanced_score,
                                       balanced_score, self.gamma,
                                       self.constant_weight, self.eps)
        self.last_weights = {'w_imba': w_imba.mean(), 'w_ba': w_ba.mean()}
        return self.loss_weight * loss.mean()

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, constant_weight={self.constant_weight}, '
                f'eps={self.eps}, loss_weight={self.loss_weight}')
