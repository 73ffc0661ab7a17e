"""Tests of the xERM loss (xerm_mm/models/losses/xerm_loss.py).

The reference below is a plain float64 numpy computation with explicit loops
and ``**``, the authors' formula with ``eps`` in the denominator, and an
analytic gradient (no autograd). The implementation computes in float32, so
loss, weights and gradient are compared with ``rtol=1e-4, atol=1e-6``.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xerm_mm.models.losses import XERMLoss, xerm_loss, xerm_weights

N, C = 8, 10
GAMMAS = (0.5, 1, 1.5, 2, 5)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def reference(cls, y, imba, ba, gamma, constant_weight=None, eps=1e-5):
    """Per-sample loss, w_imba and d(mean loss)/d(cls), float64, by loops."""
    n, c = cls.shape
    loss, w_imba, grad = np.zeros(n), np.zeros(n), np.zeros((n, c))
    for i in range(n):
        f, p_imba, p_ba = _softmax(cls[i]), _softmax(imba[i]), _softmax(ba[i])
        if constant_weight is None:
            a = (-math.log(p_imba[y[i]]))**gamma
            b = (-math.log(p_ba[y[i]]))**gamma
            w_imba[i] = a / (a + b + eps)
        else:
            w_imba[i] = 1 - constant_weight
        w_ba = 1 - w_imba[i]
        soft = 0.0
        for j in range(c):
            soft -= p_ba[j] * math.log(f[j])
        loss[i] = w_imba[i] * -math.log(f[y[i]]) + w_ba * soft
        for j in range(c):
            target = w_imba[i] * (j == y[i]) + w_ba * p_ba[j]
            grad[i, j] = (f[j] - target) / n
    return loss, w_imba, grad


def _inputs(seed, scale=3.0, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    scores = [
        (scale * torch.randn(N, C, generator=g)).requires_grad_(requires_grad)
        for _ in range(3)
    ]
    label = torch.randint(0, C, (N, ), generator=g)
    return scores[0], label, scores[1], scores[2]


def _onehot_logits(label, value):
    """Logits ``value`` at the label, ``-value`` elsewhere."""
    return value * (2 * F.one_hot(label, C).float() - 1)


@pytest.mark.parametrize('seed', (0, 1, 2))
@pytest.mark.parametrize('gamma', GAMMAS + (-1.5, ))
def test_matches_reference(gamma, seed):
    cls, label, imba, ba = _inputs(seed)
    loss, w_imba, w_ba = xerm_loss(cls, label, imba, ba, gamma=gamma)
    loss.mean().backward()

    ref_loss, ref_w, ref_grad = reference(cls.detach().double().numpy(),
                                          label.numpy(),
                                          imba.detach().double().numpy(),
                                          ba.detach().double().numpy(), gamma)
    tol = dict(rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(loss.detach().numpy(), ref_loss, **tol)
    np.testing.assert_allclose(w_imba.numpy(), ref_w, **tol)
    np.testing.assert_allclose(w_ba.numpy(), 1 - ref_w, **tol)
    np.testing.assert_allclose(cls.grad.numpy(), ref_grad, **tol)
    assert loss.dtype == w_imba.dtype == torch.float32
    assert not w_imba.requires_grad and not w_ba.requires_grad


@pytest.mark.parametrize('w', (0.0, 0.3, 1.0))
def test_constant_weight_matches_reference(w):
    cls, label, imba, ba = _inputs(3)
    loss, w_imba, w_ba = xerm_loss(cls, label, imba, ba, constant_weight=w)
    loss.mean().backward()
    ref_loss, _, ref_grad = reference(cls.detach().double().numpy(),
                                      label.numpy(),
                                      imba.detach().double().numpy(),
                                      ba.detach().double().numpy(), 2.0, w)
    np.testing.assert_allclose(loss.detach().numpy(), ref_loss, rtol=1e-5)
    np.testing.assert_allclose(cls.grad.numpy(), ref_grad, atol=1e-6)
    assert torch.all(w_ba == w) and torch.all(w_imba == 1 - w)


def test_constant_weight_limits_are_ce_and_distillation():
    cls, label, imba, ba = _inputs(4)
    ce = F.cross_entropy(cls, label, reduction='none')
    soft = -(F.softmax(ba, dim=1) * F.log_softmax(cls, dim=1)).sum(dim=1)
    torch.testing.assert_close(
        xerm_loss(cls, label, imba, ba, constant_weight=0.0).loss, ce)
    torch.testing.assert_close(
        xerm_loss(cls, label, imba, ba, constant_weight=1.0).loss, soft)


def test_gamma_zero_is_half_half():
    cls, label, imba, ba = _inputs(5)
    _, w_imba, w_ba = xerm_loss(cls, label, imba, ba, gamma=0)
    assert torch.equal(w_imba, torch.full((N, ), 0.5))
    assert torch.equal(w_ba, torch.full((N, ), 0.5))


@pytest.mark.parametrize('gamma', (0.5, 2.0, 5.0))
def test_negative_gamma_reverses_preference(gamma):
    """The formula gives the ground-truth term the larger weight where the
    imbalanced teacher fits worse (larger XE_imba); -gamma swaps the two."""
    label = torch.tensor([0, 1])
    imba = torch.tensor([[0.0, 2.0, 0.0], [0.0, 3.0, 0.0]])  # wrong, right
    ba = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # right, less sure
    cls = torch.zeros(2, 3)
    w_pos = xerm_loss(cls, label, imba, ba, gamma=gamma).w_imba
    w_neg = xerm_loss(cls, label, imba, ba, gamma=-gamma).w_imba
    assert w_pos[0] > 0.5 > w_neg[0]  # imbalanced teacher worse
    assert w_pos[1] < 0.5 < w_neg[1]  # imbalanced teacher better


def test_no_gradient_to_teachers():
    cls, label, imba, ba = _inputs(6)
    module = XERMLoss(gamma=1.5)
    module(cls, label, imbalanced_score=imba, balanced_score=ba).backward()
    xerm_loss(cls, label, imba, ba, constant_weight=0.5).loss.sum().backward()
    assert cls.grad is not None
    assert imba.grad is None and ba.grad is None
    assert not module.last_weights['w_imba'].requires_grad


def _extreme(case, label):
    big = 1e4
    if case == 'perfect_teachers':
        return (torch.randn(N, C), _onehot_logits(label, big),
                _onehot_logits(label, big))
    if case == 'wrong_teachers':
        return (torch.randn(N, C), _onehot_logits(label, -big),
                _onehot_logits(label, -big))
    if case == 'one_perfect_one_wrong':
        return (torch.randn(N, C), _onehot_logits(label, big),
                _onehot_logits(label, -big))
    if case == 'huge_student_right':
        return (_onehot_logits(label, big), torch.randn(N,
                                                        C), torch.randn(N, C))
    if case == 'huge_student_wrong':
        return (_onehot_logits(label, -big), _onehot_logits(label, -big),
                _onehot_logits(label, big))
    raise ValueError(case)


@pytest.mark.parametrize('dtype',
                         (torch.float32, torch.float16, torch.bfloat16))
@pytest.mark.parametrize('gamma', (-2.0, 0.0, 1.5, 5.0, 50.0))
@pytest.mark.parametrize(
    'case', ('perfect_teachers', 'wrong_teachers', 'one_perfect_one_wrong',
             'huge_student_right', 'huge_student_wrong'))
def test_extremes_are_finite(case, gamma, dtype):
    torch.manual_seed(0)
    label = torch.randint(0, C, (N, ))
    cls, imba, ba = (t.to(dtype).requires_grad_()
                     for t in _extreme(case, label))
    loss, w_imba, w_ba = xerm_loss(cls, label, imba, ba, gamma=gamma)
    loss.mean().backward()
    assert loss.dtype == torch.float32 and cls.grad.dtype == dtype
    for t in (loss, w_imba, w_ba, cls.grad):
        assert torch.isfinite(t).all(), case
    assert ((w_imba >= 0) & (w_imba <= 1)).all()
    torch.testing.assert_close(w_imba + w_ba, torch.ones(N))


@pytest.mark.parametrize('dtype', (torch.float16, torch.bfloat16))
def test_low_precision_inputs_computed_in_float32(dtype):
    """Half inputs give the float32 result of the same (rounded) values."""
    cls, label, imba, ba = (t.detach().to(dtype)
                            if t.is_floating_point() else t
                            for t in _inputs(10, scale=30.0))
    half = xerm_loss(cls, label, imba, ba, gamma=2.0)
    full = xerm_loss(cls.float(), label, imba.float(), ba.float(), gamma=2.0)
    for a, b in zip(half, full):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('gamma,expected',
                         ((2.0, 0.0), (-2.0, 0.5), (0.0, 0.5)))
def test_both_teachers_perfect_weight(gamma, expected):
    """Both XE == 0: the authors' eps puts all weight on the balanced term for
    gamma > 0; negative gamma ties at 0.5."""
    zero = torch.zeros(4)
    w = xerm_weights(zero, zero, gamma=gamma)
    torch.testing.assert_close(w, torch.full((4, ), expected))


def test_large_gamma_is_stable():
    """Naive powers overflow float32 here (2e4 ** 50); log space does not."""
    xe_imba = torch.tensor([2e4, 1.0, 3.0])
    xe_ba = torch.tensor([1e4, 2.0, 3.0])
    w = xerm_weights(xe_imba, xe_ba, gamma=50.0)
    torch.testing.assert_close(w, torch.tensor([1.0, 0.0, 0.5]))


def test_autocast_bf16():
    torch.manual_seed(0)
    linear = torch.nn.Linear(16, C)
    x = torch.randn(N, 16)
    label = torch.randint(0, C, (N, ))
    teachers = _onehot_logits(label, 1e4), _onehot_logits(label, -1e4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cls = linear(x)
        assert cls.dtype == torch.bfloat16
        loss = XERMLoss(gamma=2.0)(cls, label, *teachers)
    assert loss.dtype == torch.float32 and loss.dim() == 0
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(linear.weight.grad).all()


def test_module_mean_loss_weight_and_last_weights():
    cls, label, imba, ba = _inputs(7, requires_grad=False)
    module = XERMLoss(gamma=1.5)
    assert module.last_weights == {}
    loss = module(cls, label, imba, ba, avg_factor=N)
    ref = xerm_loss(cls, label, imba, ba, gamma=1.5)
    torch.testing.assert_close(loss, ref.loss.mean())
    weights = module.last_weights
    assert set(weights) == {'w_imba', 'w_ba'}
    for key in weights:
        assert isinstance(weights[key], torch.Tensor)
        assert weights[key].dim() == 0 and not weights[key].requires_grad
    torch.testing.assert_close(weights['w_imba'], ref.w_imba.mean())
    torch.testing.assert_close(weights['w_imba'] + weights['w_ba'],
                               torch.tensor(1.0))
    scaled = XERMLoss(gamma=1.5, loss_weight=2.5)(cls, label, imba, ba)
    torch.testing.assert_close(scaled, 2.5 * loss)


@pytest.mark.parametrize(
    'kwargs',
    (dict(constant_weight=-0.1), dict(constant_weight=1.5),
     dict(gamma=float('nan')), dict(gamma=float('inf')), dict(eps=-1.0)))
def test_bad_hyper_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        XERMLoss(**kwargs)
    cls, label, imba, ba = _inputs(8, requires_grad=False)
    with pytest.raises(ValueError):
        xerm_loss(cls, label, imba, ba, **kwargs)


def test_missing_or_mismatched_teacher_scores_raise():
    cls, label, imba, ba = _inputs(9, requires_grad=False)
    module = XERMLoss()
    with pytest.raises(ValueError, match='both teacher scores'):
        module(cls, label)
    with pytest.raises(ValueError, match='both teacher scores'):
        module(cls, label, imbalanced_score=imba)
    with pytest.raises(ValueError, match='balanced_score'):
        module(cls, label, imba, ba[:, :-1])
    with pytest.raises(ValueError, match='gt_label'):
        module(cls, label[:-1], imba, ba)


def test_registry_build():
    from xerm_mm.registry import MODELS
    loss = MODELS.build(dict(type='XERMLoss', gamma=1.5))
    assert isinstance(loss, XERMLoss) and loss.gamma == 1.5
