"""Tiny DigitsLT models for the analysis tools' tests, trained once a session.

XE and TDE are BBN-ResNet-32 trained one epoch on DigitsLT IB 100 (19 steps
of batch 16, in the test process); the xERM-TDE checkpoint is its student's
state dict as XERMRunner saves it (no teachers), untrained. Each is made at
the first test that asks and shared by the test modules after it.
"""
import json
import os.path as osp

import torch

from conftest import ROOT
from inprocess_tool import run_main

RECIPE = 'bbn-resnet32_1xb16-16e_digitslt-ib100'
CONFIGS = {
    'XE': osp.join(ROOT, f'configs/xe/xe_{RECIPE}.py'),
    'PC': osp.join(ROOT, f'configs/pc/pc_{RECIPE}.py'),
    'TDE': osp.join(ROOT, f'configs/tde/tde_{RECIPE}.py'),
    'xERM-TDE': osp.join(ROOT, f'configs/xerm/xerm-tde_{RECIPE}.py'),
}

_made = {}


def trained_checkpoint(name: str, tmp_path_factory) -> str:
    """The checkpoint of ``name``: XE, TDE (trained) or xERM-TDE."""
    if name not in _made:
        if name == 'xERM-TDE':
            _made[name] = _student_checkpoint(tmp_path_factory)
        else:
            work = tmp_path_factory.mktemp(name)
            run_main('train', CONFIGS[name], '--work-dir', work,
                     '--no-validate', '--cfg-options',
                     'train_cfg.max_epochs=1')
            _made[name] = str(work / 'epoch_1.pth')
    return _made[name]


def _student_checkpoint(tmp_path_factory) -> str:
    from xerm_mm.analysis.trained_model import build_model, load_config
    student = build_model(load_config(CONFIGS['xERM-TDE']))
    assert not [k for k in student.state_dict() if 'teacher' in k]
    path = str(tmp_path_factory.mktemp('xerm') / 'student.pth')
    torch.save(dict(state_dict=student.state_dict()), path)
    return path


def xe_pc_metrics(tmp_path_factory) -> dict:
    """tools/test.py ``--metrics-out`` of the XE checkpoint as XE and, through
    the PC config, as PC, on ``balanced`` and ``ib100``:
    ``{name: (path, metrics)}``. Also ``--out {name}.pkl --out-item
    metrics`` (the same metrics)."""
    if 'metrics' not in _made:
        checkpoint = trained_checkpoint('XE', tmp_path_factory)
        folder = tmp_path_factory.mktemp('metrics')
        files = {}
        for name in ('XE', 'PC'):
            path = str(folder / f'{name}.json')
            run_main('test', CONFIGS[name], checkpoint, '--work-dir',
                     folder / name, '--metrics-out', path, '--out',
                     folder / f'{name}.pkl', '--out-item', 'metrics',
                     '--test-sets', 'balanced', 'ib100')
            with open(path) as f:
                files[name] = (path, json.load(f))
        _made['metrics'] = files
    return _made['metrics']


def figure_numbers(folder, name: str) -> dict:
    """The JSON of a figure saved as ``{folder}/{name}.{png,pdf,json}``,
    after checking that the PNG and the PDF are pictures."""
    png = osp.join(folder, f'{name}.png')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.getsize(png) > 10000
    with open(osp.join(folder, f'{name}.pdf'), 'rb') as f:
        assert f.read(5) == b'%PDF-'
    with open(osp.join(folder, f'{name}.json')) as f:
        return json.load(f)
