"""The published checkpoints of the model zoo (``checkpoints/``).

Every metafile entry whose ``Weights`` is a file of the repository loads with
``torch.load(weights_only=True)`` and, where the shared CIFAR-100 is present,
``tools/test.py CONFIG WEIGHTS`` gives the balanced top-1 the entry states.
"""
import os.path as osp

import pytest
import torch
import yaml

from inprocess_tool import run_main

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CIFAR100 = osp.join(ROOT, '..', 'shared', 'data', 'cifar100')
BALANCED = 'CIFAR-100-LT balanced test'


def published_entries():
    """(name, config, weights, balanced top-1) of every entry with local
    Weights."""
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    found = []
    for metafile in index['Import']:
        with open(osp.join(ROOT, metafile)) as f:
            models = yaml.safe_load(f)['Models']
        for model in models:
            weights = model.get('Weights', '')
            if not weights or '://' in weights:
                continue
            top1 = [r['Metrics']['Top 1 Accuracy']
                    for r in model.get('Results', [])
                    if r['Dataset'] == BALANCED]
            found.append((model['Name'], model['Config'], weights,
                          top1[0] if top1 else None))
    return found


ENTRIES = published_entries()


@pytest.mark.parametrize('name,config,weights,top1', ENTRIES,
                         ids=[e[0] for e in ENTRIES])
def test_published_checkpoint_loads_weights_only(name, config, weights,
                                                 top1):
    path = osp.join(ROOT, weights)
    assert osp.isfile(path), f'{name}: Weights {weights} is not in the repo'
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    assert set(checkpoint) <= {'state_dict', 'meta'}, (
        f'{weights} holds more than weights and meta: {sorted(checkpoint)}')
    assert all(torch.isfinite(t).all()
               for t in checkpoint['state_dict'].values()
               if t.is_floating_point() and not t.isnan().all())
    assert top1 is not None, f'{name}: no {BALANCED!r} result'


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir(osp.join(CIFAR100, 'cifar-100-python')),
                    reason='the shared CIFAR-100 is not here')
@pytest.mark.parametrize('name,config,weights,top1', ENTRIES,
                         ids=[e[0] for e in ENTRIES])
def test_published_checkpoint_gives_its_balanced_top1(name, config, weights,
                                                      top1, tmp_path):
    metrics, _ = run_main('test', osp.join(ROOT, config),
                          osp.join(ROOT, weights), '--data-root', CIFAR100,
                          '--test-sets', 'balanced', '--work-dir', tmp_path)
    assert round(metrics['balanced/lt/top1'], 2) == pytest.approx(top1), name
