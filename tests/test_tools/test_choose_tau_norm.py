"""tools/analysis_tools/choose_tau_norm.py: the tau it chooses.

The tool as a step of a decoupling pipeline, and its refusals, are tested
in tests/test_decoupling.py.
"""
import numpy as np
import pytest
import torch

from inprocess_tool import load_tool
from xerm_mm.registry import MODELS

pytestmark = pytest.mark.usefixtures('xerm_scope')

C = 5
#: The tool's functions (``tau_norm_accuracies``, ``choose_tau``, ...).
tool = load_tool('analysis_tools/choose_tau_norm')


def test_class_mean_accuracy_weighs_classes_not_images():
    labels = np.array([0] * 8 + [1, 2])
    pred = np.array([0] * 8 + [0, 2])  # 10 / 10 of class 0, 0 / 1, 1 / 1
    assert tool.class_mean_accuracy(pred, labels) == pytest.approx(200 / 3)


def test_chosen_tau_equals_a_brute_force_choice():
    rng = np.random.RandomState(0)
    n_per = 30
    labels = np.repeat(np.arange(C), n_per)
    centers = rng.randn(C, 4) * 2
    feats = (centers[labels] + rng.randn(len(labels), 4)).astype(np.float32)
    # Long-tail-like classifier: the head classes have the largest norms.
    weight = torch.tensor(centers * np.array([[4.], [2.], [1.], [.5],
                                              [.25]]), dtype=torch.float32)
    taus = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
    accs = tool.tau_norm_accuracies(feats, labels, weight, taus)
    tau, acc = tool.choose_tau(taus, accs)
    # Brute force: each tau through TauNormHead's balanced view, per-class
    # accuracy by counting.
    brute = []
    for t in taus:
        head = MODELS.build(dict(type='TauNormHead', num_classes=C,
                                 in_channels=4, tau=t))
        with torch.no_grad():
            head.fc.weight.copy_(weight)
        pred = head.views((torch.from_numpy(feats), ))['balanced'].argmax(1)
        per_class = [
            sum(int(p == c) for p, y in zip(pred.tolist(), labels) if y == c)
            / n_per for c in range(C)
        ]
        brute.append(100 * sum(per_class) / C)
    np.testing.assert_allclose(accs, brute, atol=1e-9)
    best = max(range(len(taus)), key=lambda i: (brute[i], -i))
    assert tau == taus[best] and acc == pytest.approx(brute[best])
    assert tau > 0  # the norms are skewed: normalising helps here


def test_choose_tau_needs_an_accuracy_per_tau():
    assert tool.choose_tau([0.5, 1.0, 1.5], [60.0, 70.0, 70.0]) == (1.0, 70.0)
    with pytest.raises(ValueError, match='2 taus and 1 accuracies'):
        tool.choose_tau([0.5, 1.0], [60.0])
    with pytest.raises(ValueError, match='no samples'):
        tool.class_mean_accuracy(np.zeros(0), np.zeros(0))
