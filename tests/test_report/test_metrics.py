"""xerm_mm.report.metrics: tools/test.py's metrics as rows per test set, as
JSON and as Markdown tables."""
import json
import math

import numpy as np
import torch

from xerm_mm.report import (markdown_table, split_by_test_set,
                            write_metrics_json)
from xerm_mm.report.metrics import COLUMNS, column_names


def test_split_by_test_set():
    rows = split_by_test_set({
        'balanced/lt/top1': 40.0, 'balanced/lt/few_recall': 5.0,
        'ib10/lt/top1': 60.0, 'ib10/accuracy/top1': 59.0,
        'lt/top1': 41.0, 'balanced/imbalanced/lt/top1': 42.0})
    assert rows == {
        'balanced': dict(top1=40.0, few_recall=5.0), 'ib10': dict(top1=60.0),
        'test': dict(top1=41.0),  # a plain TestLoop's keys
        'balanced/imbalanced': dict(top1=42.0)}  # a view of a set
    assert list(rows) == ['balanced', 'ib10', 'test', 'balanced/imbalanced']
    assert split_by_test_set({'ib10/accuracy/top1': 59.0}) == {}


def test_column_names():
    rows = dict(XE=dict(balanced=1, ib10=2), PC=dict(ib50=3, balanced=4))
    assert column_names(rows) == ['balanced', 'ib10', 'ib50']
    assert column_names(rows, ['ib50', 'ib100']) == [
        'ib50', 'balanced', 'ib10']
    assert column_names({}) == []


def test_markdown_table():
    table = markdown_table(
        dict(balanced=dict(top1=40.0, few_recall=math.nan),
             ib10=dict(top1=60.125)), columns=['top1', 'few_recall'])
    assert table.splitlines() == [
        '| test set | top1 | few_recall |', '|---|---|---|',
        '| balanced | 40.00 | - |',  # an empty group: NaN
        '| ib10 | 60.12 | - |']  # not measured
    assert markdown_table(dict(XE=dict(top1=40.04)), ['top1'], first='method',
                          digits=1).splitlines()[2] == '| XE | 40.0 |'
    assert markdown_table({}).splitlines()[0] == (
        '| test set | ' + ' | '.join(COLUMNS) + ' |')


def test_write_metrics_json(tmp_path):
    path = tmp_path / 'eval' / 'XE.json'  # the folder is made
    write_metrics_json({'balanced/lt/top1': np.float64(40.5),
                        'balanced/lt/per_class_tp': torch.tensor([1, 2]),
                        'balanced/lt/per_class_group': ['many', 'few']},
                       str(path))
    assert json.loads(path.read_text()) == {
        'balanced/lt/top1': 40.5, 'balanced/lt/per_class_tp': [1, 2],
        'balanced/lt/per_class_group': ['many', 'few']}
    assert [p.name for p in path.parent.iterdir()] == ['XE.json']
