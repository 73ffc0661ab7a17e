# The xERM paper's numbers on Places365-LT with an ImageNet-pretrained
# ResNet-50, shown under ours in the pipeline's report: Zhu et al., "Cross-
# Domain Empirical Risk Minimization for Unbiased Long-Tailed
# Classification", AAAI 2022, Table 3 (balanced test set, top-1; no XE or PC
# row for this backbone, no imbalanced test sets). Top-1 %, as published.
report = dict(
    tables=dict(balanced='Table 3', imbalanced=None),
    paper=dict(
        source='Zhu et al., AAAI 2022',
        results={
            'TDE': dict(balanced=dict(top1=37.2)),
            'xERM-PC': dict(balanced=dict(top1=38.3)),
            'xERM-TDE': dict(balanced=dict(top1=38.3)),
        }))
