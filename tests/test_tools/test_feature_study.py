"""tools/analysis_tools/feature_study.py: a linear classifier on the frozen
backbones of tiny DigitsLT models (XE, TDE, xERM-TDE)."""
import json
import os.path as osp

import pytest
import torch

from conftest import ROOT
from inprocess_tool import run_main
from trained_digits import trained_checkpoint
from xerm_mm.utils.checkpoint_checks import CheckpointMismatchError

pytestmark = pytest.mark.usefixtures('one_thread')

STUDY = osp.join(ROOT, 'configs/feature_study/frozen-backbone_bbn-resnet32_'
                 '1xb16-4e_digits.py')
FEATURE_STUDY = 'analysis_tools/feature_study'


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``{XE, TDE, xERM-TDE: checkpoint path}``."""
    return {name: trained_checkpoint(name, tmp_path_factory)
            for name in ('XE', 'TDE', 'xERM-TDE')}


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)[
        'state_dict']


def test_feature_study_retrains_only_the_classifier(checkpoints, tmp_path):
    models = ['--model', 'XE', checkpoints['XE'], '--model', 'TDE',
              checkpoints['TDE'], '--model', 'xERM-TDE',
              checkpoints['xERM-TDE']]
    # Two short epochs: 320 of the 1,240 balanced training images.
    options = ['--cfg-options', 'train_cfg.max_epochs=2',
               'train_dataloader.batch_size=64',
               'train_dataloader.dataset.indices=320']
    args = ['--config', STUDY, *models, '--work-dir', tmp_path, *options]
    numbers, out = run_main(FEATURE_STUDY, *args)
    assert '| backbone | top1 | many | medium | few |' in out
    assert json.load(open(tmp_path / 'feature_study.json')) == \
        json.loads(json.dumps(numbers))
    for name, row in numbers['models'].items():
        metrics = json.load(open(row['metrics_file']))
        assert row['top1'] == metrics['balanced/lt/top1']
        assert row['few'] == metrics['balanced/lt/few_recall']
        # Groups of the long-tailed training that made the backbone.
        assert metrics['balanced/lt/per_class_train_count'] == [
            124, 74, 44, 26, 16, 9, 5, 3, 2, 1]
        assert f"| {name} | {row['top1']:.2f} |" in out
        source = _state(checkpoints[name])
        epochs = [_state(osp.join(row['work_dir'], f'epoch_{e}.pth'))
                  for e in (1, 2)]
        backbone = [k for k in source if k.startswith('backbone.')]
        assert any('running_var' in k for k in backbone)
        for state in epochs:  # weights and BatchNorm buffers unchanged
            assert [k for k in backbone
                    if not torch.equal(state[k], source[k])] == []
        assert set(epochs[1]) == set(epochs[0])
        assert set(k for k in epochs[1] if k.startswith('head.')) == {
            'head.fc.weight', 'head.fc.bias'}
        assert not torch.equal(epochs[0]['head.fc.weight'],
                               epochs[1]['head.fc.weight'])
    # Resumable: nothing runs again.
    again, out = run_main(FEATURE_STUDY, *args)
    assert out.count('done before') == 3 and again == numbers
    # Interrupted after XE's first epoch: its training resumes there.
    xe = tmp_path / 'XE'
    for done in ('metrics.json', 'epoch_2.pth'):
        (xe / done).unlink()
    (xe / 'last_checkpoint').write_text(str(xe / 'epoch_1.pth'))
    again, out = run_main(FEATURE_STUDY, *args)
    assert out.count('done before') == 2
    assert '--no-validate --resume --cfg-options' in out
    assert 'resumed epoch: 1' in out
    assert (xe / 'epoch_2.pth').is_file() and (xe / 'metrics.json').is_file()
    # The work dir of XE is not reused for another checkpoint.
    with pytest.raises(FileExistsError, match='--model XE: .*another '
                       '--work-dir'):
        run_main(FEATURE_STUDY, '--config', STUDY, '--model', 'XE',
                 checkpoints['TDE'], '--work-dir', tmp_path, *options)


def test_feature_study_refuses_bad_input(checkpoints, tmp_path):
    study = ['--config', STUDY, '--work-dir', tmp_path]
    with pytest.raises(FileNotFoundError, match="--model XE: checkpoint '"):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', tmp_path / 'no.pth')
    head_only = tmp_path / 'head.pth'
    source = _state(checkpoints['XE'])
    torch.save(dict(state_dict={k: v for k, v in source.items()
                                if k.startswith('head.')}), head_only)
    with pytest.raises(KeyError, match=r'head.pth.* holds no backbone\.\*'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', head_only)
    narrow = tmp_path / 'narrow.pth'
    torch.save(dict(state_dict=dict(
        source, **{'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)})),
        narrow)
    with pytest.raises(CheckpointMismatchError, match='conv1.weight'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', narrow)
    with pytest.raises(ValueError, match='backbone is not frozen.*'
                       'frozen_stages'):
        run_main(FEATURE_STUDY, *study, '--model', 'XE', checkpoints['XE'],
                 '--cfg-options', 'model.backbone.frozen_stages=-1')
    assert not osp.exists(tmp_path / 'XE')  # refused before any training
