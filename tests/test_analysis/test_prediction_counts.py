"""xerm_mm.analysis.prediction_counts: the numbers of the prediction
histograms."""
from xerm_mm.analysis import class_order, group_counts, sorted_counts


def test_prediction_counts_order_and_groups():
    row = dict(per_class_train_count=[5, 50, 50, 200],
               per_class_group=['few', 'medium', 'medium', 'many'],
               per_class_gt_count=[4, 4, 4, 4],
               per_class_pred_count=[1, 3, 2, 10],
               per_class_tp=[1, 2, 1, 4])
    assert class_order(row['per_class_train_count']) == [3, 1, 2, 0]
    counts = sorted_counts(row)
    assert counts['class'] == [3, 1, 2, 0]
    assert counts['pred_count'] == [10, 3, 2, 1]
    assert counts['fp'] == [6, 1, 1, 0]
    assert counts['group'] == ['many', 'medium', 'medium', 'few']
    groups = group_counts(row)
    assert groups['medium'] == dict(classes=2, gt=8, pred=5, tp=3, fp=2)
    assert groups['many'] == dict(classes=1, gt=4, pred=10, tp=4, fp=6)
