# The xERM paper's numbers on CIFAR-100-LT IB 100 (BBN ResNet-32, 200
# epochs), shown under ours in the pipeline's report: Zhu et al., "Cross-
# Domain Empirical Risk Minimization for Unbiased Long-Tailed
# Classification", AAAI 2022, Table 1 (balanced test set: top-1 and per
# group recall / precision / F1) and Table 4 (test sets down-sampled to IB
# 100 / 50 / 10 / 5, forward profile). Top-1 %, as published.
report = dict(
    tables=dict(balanced='Table 1', imbalanced='Table 4'),
    paper=dict(
        source='Zhu et al., AAAI 2022',
        results={
            'XE': dict(
                balanced=dict(
                    top1=40.5, many_recall=68.5, medium_recall=39.9,
                    few_recall=8.6, many_precision=38.5,
                    medium_precision=50.9, few_precision=52.2,
                    many_f1=49.3, medium_f1=44.7, few_f1=14.8),
                ib100=dict(top1=66.4), ib50=dict(top1=63.9),
                ib10=dict(top1=56.3), ib5=dict(top1=51.9)),
            'PC': dict(
                balanced=dict(
                    top1=45.5, many_recall=62.2, medium_recall=45.6,
                    few_recall=25.8, many_precision=50.6,
                    medium_precision=48.5, few_precision=32.5,
                    many_f1=55.8, medium_f1=47.0, few_f1=28.7),
                ib100=dict(top1=60.0), ib50=dict(top1=59.2),
                ib10=dict(top1=55.3), ib5=dict(top1=52.9)),
            'TDE': dict(
                balanced=dict(
                    top1=44.1, many_recall=63.9, medium_recall=46.9,
                    few_recall=17.8, many_precision=46.6,
                    medium_precision=45.5, few_precision=34.1,
                    many_f1=53.9, medium_f1=46.2, few_f1=23.4),
                ib100=dict(top1=60.8), ib50=dict(top1=60.0),
                ib10=dict(top1=55.7), ib5=dict(top1=52.9)),
            'xERM-PC': dict(
                balanced=dict(
                    top1=46.9, many_recall=65.5, medium_recall=45.4,
                    few_recall=26.8, many_precision=51.1,
                    medium_precision=51.5, few_precision=35.9,
                    many_f1=57.4, medium_f1=48.3, few_f1=30.7),
                ib100=dict(top1=63.3), ib50=dict(top1=61.5),
                ib10=dict(top1=57.0), ib5=dict(top1=54.6)),
            'xERM-TDE': dict(
                balanced=dict(
                    top1=46.2, many_recall=69.0, medium_recall=48.8,
                    few_recall=16.7, many_precision=46.4,
                    medium_precision=49.3, few_precision=45.5,
                    many_f1=55.5, medium_f1=49.0, few_f1=24.4),
                ib100=dict(top1=66.4), ib50=dict(top1=64.8),
                ib10=dict(top1=59.3), ib5=dict(top1=55.5)),
        }))
