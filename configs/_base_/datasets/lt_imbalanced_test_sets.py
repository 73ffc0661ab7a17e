# tools/test.py on ImageNet-LT and Places365-LT: the balanced test list and
# the imbalanced test sets of the xERM paper (docs/datasets.md;
# docs/datasets.md), one table row each: IB 50 / 25 / 10 / 5 with the
# training order of the classes (forward, `ibN`) and with it reversed
# (backward, `ibN_bwd`).
test_cfg = dict(
    type='xerm_mm.MultiTestLoop',
    test_sets=dict(
        balanced=dict(imbalance_ratio=1),
        **{
            f'ib{ib}{suffix}': dict(imbalance_ratio=ib, reverse=reverse)
            for suffix, reverse in (('', False), ('_bwd', True))
            for ib in (50, 25, 10, 5)
        }))
