"""xerm_mm.analysis.figures: the drawings shared by the tools and the report,
on synthetic numbers."""
import json

from xerm_mm.analysis import (draw_sweep_curve, prediction_histogram_figure,
                              save_figure, sweep_sets)


def test_sweep_curve_has_a_line_per_model_in_the_sets_order(tmp_path):
    sets = sweep_sets([10])  # ib10, balanced, ib10_bwd
    top1 = {'XE': dict(ib10=60.0, balanced=40.0, ib10_bwd=20.0),
            'xERM': dict(ib10=55.0, balanced=50.0, ib10_bwd=45.0)}
    fig = draw_sweep_curve(sets, top1)
    ax, = fig.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert lines['XE'] == [60.0, 40.0, 20.0]
    assert lines['xERM'] == [55.0, 50.0, 45.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        s.label for s in sets]
    paths = save_figure(fig, dict(top1=top1), str(tmp_path / 'out'), 'curve')
    assert sorted(paths) == ['json', 'pdf', 'png']
    with open(paths['png'], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(paths['pdf'], 'rb') as f:
        assert f.read(5) == b'%PDF-'
    with open(paths['json']) as f:
        assert json.load(f) == dict(top1=top1)


def test_histogram_bars_are_the_predictions_head_to_tail():
    row = dict(top1=50.0, per_class_train_count=[5, 50, 200],
               per_class_group=['few', 'medium', 'many'],
               per_class_gt_count=[4, 4, 4],
               per_class_pred_count=[1, 3, 8], per_class_tp=[1, 2, 3])
    fig, numbers = prediction_histogram_figure(
        {'XE': {'balanced': row}}, 'balanced', None)
    histogram, tp_fp = fig.axes
    # Classes 2, 1, 0: from the most to the least trained.
    bars, = histogram.containers
    assert [bar.get_height() for bar in bars] == [8, 3, 1]
    # The few-shot class 0: 1 true positive (solid), no false one.
    tp, fp = tp_fp.containers
    assert [tp[0].get_height(), fp[0].get_height()] == [1, 0]
    assert numbers['models']['XE']['counts']['class'] == [2, 1, 0]
    assert numbers['tp_fp_panels'] == [dict(group='few', test_set='balanced')]
