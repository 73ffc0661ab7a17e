"""tools/analysis_tools/tsne.py on tiny DigitsLT models (XE, xERM-TDE)."""
import json

import numpy as np
import pytest

from inprocess_tool import load_tool, run_main
from trained_digits import CONFIGS, figure_numbers, trained_checkpoint

pytestmark = pytest.mark.usefixtures('one_thread')

TSNE = 'analysis_tools/tsne'


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``{XE, xERM-TDE: checkpoint path}``."""
    return {name: trained_checkpoint(name, tmp_path_factory)
            for name in ('XE', 'xERM-TDE')}


def _models(checkpoints, *names):
    args = []
    for name in names:
        args += ['--model', name, CONFIGS[name], checkpoints[name]]
    return args


def test_tsne_is_deterministic_and_cached(checkpoints, tmp_path):
    args = [*_models(checkpoints, 'XE', 'xERM-TDE'), '--per-class', '15',
            '--out-dir', tmp_path]
    first, out = run_main(TSNE, *args)
    assert 'features of 500 images written' in out
    data = np.load(tmp_path / 'tsne_XE_features.npz')
    assert data['features'].shape == (500, 128)
    assert np.bincount(data['labels']).tolist() == [50] * 10
    # Nine digits from the most (0: 124 images) to the least trained.
    assert [c['id'] for c in first['classes']] == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert first['classes'][-1]['train_count'] == 1
    assert figure_numbers(tmp_path, 'tsne') == json.loads(json.dumps(first))
    for model in first['models'].values():
        assert np.asarray(model['points']).shape == (9 * 15, 2)
        assert data['labels'][model['indices']].tolist() == model['labels']
    # Features extracted again (another name): the same points.
    again, out = run_main(TSNE, *args[:4], *args[8:], '--name', 'again')
    assert 'written to' in out
    assert again['models']['XE'] == first['models']['XE']
    # A re-plot reads the cache; another seed moves the points.
    other, out = run_main(TSNE, *args, '--seed', '1', '--classes', '9', '0')
    assert 'features read from' in out
    assert [c['id'] for c in other['classes']] == [0, 9]
    assert len(other['models']['XE']['points']) == 30


def test_tsne_refuses_bad_input(checkpoints, tmp_path):
    xe = ['--model', 'XE', CONFIGS['XE'], checkpoints['XE']]
    with pytest.raises(ValueError, match=r"--classes '12': no such class; "
                       r'give ids 0\.\.9'):
        run_main(TSNE, *xe, '--classes', '12', '--out-dir', tmp_path)
    with pytest.raises(FileNotFoundError,
                       match=r"--model XE: checkpoint '.*missing.pth' not"):
        run_main(TSNE, '--model', 'XE', CONFIGS['XE'],
                 tmp_path / 'missing.pth', '--out-dir', tmp_path)


def test_classes_run_from_head_to_tail():
    tool = load_tool(TSNE)
    counts = [5, 50, 500, 50, 1]  # head to tail: 2, 1, 3, 0, 4
    assert tool.head_to_tail_classes(counts, 3) == [2, 3, 4]
    assert tool.head_to_tail_classes(counts) == [2, 1, 3, 0, 4]
    names = ['a', 'b', 'c', 'd', 'e']
    assert tool.parse_classes(['4', 'b', 'c'], names, counts) == [2, 1, 4]
    with pytest.raises(ValueError, match=r"'7': no such class; give ids "
                       r'0\.\.4 or names \(a, b'):
        tool.parse_classes(['7'], names, counts)
    with pytest.raises(ValueError, match='repeated'):
        tool.parse_classes(['b', '1'], names, counts)
    labels = np.array([0, 0, 0, 1, 2, 2, 0])
    chosen = tool.sample_per_class(labels, [0, 2], 2, seed=0)
    assert sorted(labels[chosen].tolist()) == [0, 0, 2, 2]
    assert chosen.tolist() == sorted(chosen.tolist())
    assert chosen.tolist() == tool.sample_per_class(labels, [0, 2], 2,
                                                    seed=0).tolist()
