"""tools/benchmarks/large_backbones.py on 32x32 inputs, batch 2, one step."""
import os.path as osp
import re

import pytest
from inprocess_tool import ROOT, run_main

TOOL = 'benchmarks/large_backbones'
XE = osp.join(ROOT, 'configs/xe/xe_resnext50_1xb256-90e_imagenetlt.py')
TINY = ('--batch', 2, '--size', 32, '--steps', 1, '--warmup', 0)
COLUMNS = ['config', 'classes', 'params trainable', 'params total',
           'train s/step', 'train images/s', 'infer images/s']

def table(out):
    """The printed markdown table as a list of {column: cell} rows."""
    lines = [line for line in out.splitlines() if line.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    assert header == COLUMNS
    assert set(lines[1]) == {'|', '-'}
    return [dict(zip(header, (c.strip() for c in line.strip('|').split('|'))))
            for line in lines[2:]]


def millions(cell):
    assert re.fullmatch(r'\d+\.\d\dM', cell), cell
    return float(cell[:-1])


def test_xe_row():
    rows, out = run_main(TOOL, *TINY, '--configs', XE)
    assert ('threads 1 batch 2 size 32 steps 1 (median) warmup 0 clock '
            'wall') in out
    (row, ) = table(out)
    assert row == {k: str(v) for k, v in rows[0].items()}
    assert row['config'] == 'xe_resnext50_1xb256-90e_imagenetlt'
    assert row['classes'] == '1000'
    # ResNeXt-50 32x4d (23.0M) + the 2048 x 1000 linear classifier.
    assert millions(row['params trainable']) == 25.03
    assert row['params total'] == row['params trainable']
    step = float(row['train s/step'])
    assert step > 0
    # Printed to 0.1 image/s: half of that apart at most (a slow step).
    assert float(row['train images/s']) == pytest.approx(2 / step, rel=0.01,
                                                         abs=0.051)
    assert float(row['infer images/s']) > 0


def test_xerm_recipe_counts_the_frozen_teacher():
    # The default list (every recipe is found), one method, one recipe.
    rows, out = run_main(TOOL, *TINY, '--methods', 'xerm-tde', '--only',
                         'resnext50', '--clock', 'cpu')
    assert 'clock cpu' in out
    assert 'not found' not in out
    (row, ) = table(out)
    assert row['config'] == 'xerm-tde_resnext50_1xb256-90e_imagenetlt'
    trainable = millions(row['params trainable'])
    # The TDE teacher is the same network: the total holds it twice.
    assert millions(row['params total']) == pytest.approx(2 * trainable,
                                                          abs=0.011)
    assert float(row['train s/step']) > 0


def test_missing_config_is_named():
    with pytest.raises(SystemExit, match='nowhere.py'):
        run_main(TOOL, *TINY, '--configs', 'nowhere.py')
