# The xERM paper's numbers on iNaturalist 2018 (ResNet-50, 90 epochs),
# shown under ours in the pipeline's report: Zhu et al., "Cross-Domain
# Empirical Risk Minimization for Unbiased Long-Tailed Classification", AAAI
# 2022, Table 3 (the balanced validation set, top-1; no XE row, no
# imbalanced test sets). Top-1 %, as published.
report = dict(
    tables=dict(balanced='Table 3', imbalanced=None),
    paper=dict(
        source='Zhu et al., AAAI 2022',
        results={
            'PC': dict(balanced=dict(top1=66.2)),
            'TDE': dict(balanced=dict(top1=63.1)),
            'xERM-PC': dict(balanced=dict(top1=67.3)),
            'xERM-TDE': dict(balanced=dict(top1=64.5)),
        }))
