"""The decoupling pipeline for real on a tiny CIFAR-10-LT: XE, cRT from its
checkpoint (``init_from``), tau-norm chosen by the real
``choose_tau_norm.py`` (``post_hoc``), an xERM student over tau-norm, and
their evaluations, run by the experiment engine (one epoch each, every tool a
process of its own)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, small_cifar10_config
from pipeline_setup import run_pipeline
from xerm_mm.utils.atomic import sha256_of

pytestmark = pytest.mark.slow

R = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
HELD_OUT = """
tau_norm_val_dataset = dict(
    _delete_=True, type='xerm_mm.CIFAR10LTHeldOut', data_root={root!r},
    imbalance_ratio=10, images_per_class=dict(train=20, test=8),
    max_per_class=10, pipeline=[dict(type='PackInputs')])
"""
PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='crt', config={crt!r}, init_from='xe'),
    dict(name='taunorm', config={taunorm!r}, post_hoc='xe',
         chooser='tools/analysis_tools/choose_tau_norm.py'),
    dict(name='xerm_taunorm', config={xerm_taunorm!r}, teacher='taunorm'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='cRT', stage='crt'),
    dict(name='tau-norm', stage='taunorm'),
    dict(name='xERM-tau-norm', stage='xerm_taunorm'),
]
report = dict(figures=False)
"""


def test_decoupling_pipeline_runs_for_real(fake_cifar10_root, tmp_path,
                                           monkeypatch):
    monkeypatch.chdir(ROOT)
    folder = str(tmp_path / 'configs')
    paths = {}
    for name, base, extra in (
            ('xe', f'xe/xe_{R}', ''), ('crt', f'decoupling/crt_{R}', ''),
            ('taunorm', f'decoupling/taunorm_{R}',
             HELD_OUT.format(root=fake_cifar10_root))):
        paths[name] = small_cifar10_config(base, fake_cifar10_root,
                                           osp.join(folder, name), extra)
    paths['xerm_taunorm'] = small_cifar10_config(
        f'xerm/xerm-taunorm_{R}', fake_cifar10_root,
        osp.join(folder, 's_tn'),
        'model.update(teacher=dict(config=dict(head=dict(num_classes=10))))'
        '\n')
    config = tmp_path / 'pipeline.py'
    config.write_text(PIPELINE.format(**paths))
    work = tmp_path / 'work'
    out = run_pipeline(str(config), '--work-dir', str(work))
    assert 'exit:' not in out, out[-4000:]
    report = json.load(open(work / 'report.json'))
    xe = str(work / 'xe' / 'epoch_1.pth')
    # cRT started from XE: its frozen backbone is XE's.
    xe_state = torch.load(xe, map_location='cpu')['state_dict']
    crt_state = torch.load(work / 'crt' / 'epoch_1.pth',
                           map_location='cpu')['state_dict']
    torch.testing.assert_close(crt_state['backbone.conv1.weight'],
                               xe_state['backbone.conv1.weight'])
    # The real chooser's choice reached the evaluation and the student.
    with open(tmp_path / 'work' / 'taunorm' / 'choice.json') as f:
        choice = json.load(f)
    tau = choice['tau']
    assert choice['cfg_options'] == {'model.head.tau': tau}
    assert report['checkpoints']['tau-norm']['sha256'] == sha256_of(xe)
    # The evaluation tested with it, the student's teacher was built with it.
    tested = Config.fromfile(str(work / 'eval' / 'tau-norm' /
                                 'pipeline_inputs' /
                                 osp.basename(paths['taunorm'])))
    assert tested.model.head.tau == tau
    student = Config.fromfile(str(work / 'xerm_taunorm' / 'pipeline_inputs' /
                                  osp.basename(paths['xerm_taunorm'])))
    teacher = student.model.teacher.config
    if isinstance(teacher, str):  # a teacher config file, written
        teacher = Config.fromfile(teacher).model
    assert teacher['head']['tau'] == tau
    assert set(report['table4']) == {
        'XE', 'cRT', 'tau-norm', 'xERM-tau-norm'}
