"""xerm_mm.analysis.sweep_sets: the test sets of the test-agnostic sweep."""
import pytest

from xerm_mm.analysis.sweep_sets import sweep_set_options, sweep_sets


def test_sweep_sets_forward_balanced_backward():
    sets = sweep_sets([10, 2.5, 100])
    assert [s.name for s in sets] == [
        'ib100', 'ib10', 'ib2p5', 'balanced', 'ib2p5_bwd', 'ib10_bwd',
        'ib100_bwd'
    ]
    assert [s.reverse for s in sets] == [False] * 4 + [True] * 3
    assert sweep_set_options(sets[-1:]) == [
        'test_cfg.test_sets.ib100_bwd.imbalance_ratio=100',
        'test_cfg.test_sets.ib100_bwd.reverse=True'
    ]
    for bad in ([1], [10, 10], [float('inf')]):
        with pytest.raises(ValueError, match='--ratios'):
            sweep_sets(bad)
