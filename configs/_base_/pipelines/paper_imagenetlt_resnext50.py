# The xERM paper's numbers on ImageNet-LT (ResNeXt-50 32x4d, 90 epochs),
# shown under ours in the pipeline's report: Zhu et al., "Cross-Domain
# Empirical Risk Minimization for Unbiased Long-Tailed Classification", AAAI
# 2022, Table 2 (balanced test set, top-1) and Table 5 (the test set down-
# sampled to IB 50 / 25 / 10 / 5, forward profile; the paper gives no PC
# row there and no backward sets). Top-1 %, as published.
report = dict(
    tables=dict(balanced='Table 2', imbalanced='Table 5'),
    paper=dict(
        source='Zhu et al., AAAI 2022',
        results={
            'XE': dict(
                balanced=dict(top1=49.0), ib50=dict(top1=67.7),
                ib25=dict(top1=65.2), ib10=dict(top1=61.4),
                ib5=dict(top1=58.0)),
            'PC': dict(balanced=dict(top1=48.9)),
            'TDE': dict(
                balanced=dict(top1=51.8), ib50=dict(top1=63.0),
                ib25=dict(top1=61.6), ib10=dict(top1=59.5),
                ib5=dict(top1=57.6)),
            'xERM-PC': dict(
                balanced=dict(top1=53.2), ib50=dict(top1=66.8),
                ib25=dict(top1=65.3), ib10=dict(top1=62.5),
                ib5=dict(top1=60.1)),
            'xERM-TDE': dict(
                balanced=dict(top1=54.1), ib50=dict(top1=67.7),
                ib25=dict(top1=66.0), ib10=dict(top1=63.5),
                ib5=dict(top1=60.9)),
        }))
