"""Decoupling (Kang et al., ICLR 2020): the class-balanced sampler, the
cRT / tau-norm / LWS heads, the tau choice, the configs and their use as
xERM teachers."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from conftest import small_cifar10_config
from inprocess_tool import run_main
from xerm_mm.datasets import ClassBalancedSampler
from xerm_mm.models.losses import xerm_loss
from xerm_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C = 5
HEADS = ('CRTHead', 'TauNormHead', 'LWSHead')

pytestmark = pytest.mark.usefixtures('one_thread', 'xerm_scope')


class Labelled(list):
    """A dataset of labels only (what the sampler reads)."""

    def get_gt_labels(self):
        return np.asarray(self)


# --- ClassBalancedSampler ----------------------------------------------
SIZES = [300, 60, 12, 4]
DATA = Labelled(np.repeat(np.arange(len(SIZES)), SIZES).tolist())


def _draws(sampler, epochs):
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        out += list(sampler)
    return np.asarray(out)


def test_sampler_draws_every_class_equally_often_and_uniformly_within():
    idx = _draws(ClassBalancedSampler(DATA, seed=0), epochs=20)
    assert len(idx) == 20 * len(DATA)
    counts = np.bincount(np.asarray(DATA)[idx], minlength=len(SIZES))
    expected = len(idx) / len(SIZES)
    chi2 = ((counts - expected)**2 / expected).sum()
    assert chi2 < 16.3, counts  # df 3, p = 0.001
    # Within the 4-image class: each image about a quarter of its draws.
    rare = np.bincount(idx[idx >= sum(SIZES[:3])] - sum(SIZES[:3]),
                       minlength=4)
    quarter = rare.sum() / 4
    assert ((rare - quarter)**2 / quarter).sum() < 16.3, rare  # df 3
    # The natural frequencies would give the head class ~80 %, not ~25 %.
    assert counts[0] / counts.sum() < 0.3


def test_sampler_is_deterministic_with_its_seed_and_changes_per_epoch():
    a, b = (ClassBalancedSampler(DATA, seed=3) for _ in range(2))
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(ClassBalancedSampler(DATA, seed=4)) != first


def test_sampler_splits_one_epoch_across_ranks(monkeypatch):
    import mmengine.dataset.sampler as sampler_module
    whole = list(ClassBalancedSampler(DATA, seed=5))  # len(DATA) is even
    shares = []
    for rank in range(2):
        monkeypatch.setattr(sampler_module, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        sampler = ClassBalancedSampler(DATA, seed=5)
        assert len(sampler) == len(DATA) // 2
        shares.append(list(sampler))
    assert whole[0::2] == shares[0] and whole[1::2] == shares[1]


def test_sampler_builds_from_a_dataloader_config_and_needs_labels():
    from mmengine.registry import DATA_SAMPLERS
    sampler = DATA_SAMPLERS.build(dict(type='xerm_mm.ClassBalancedSampler'),
                                  default_args=dict(dataset=DATA, seed=0))
    assert isinstance(sampler, ClassBalancedSampler)
    with pytest.raises(TypeError, match='get_gt_labels'):
        ClassBalancedSampler([1, 2, 3], seed=0)


# --- the heads' formulas -----------------------------------------------
def _head(name, **kwargs):
    torch.manual_seed(0)
    head = MODELS.build(dict(type=name, num_classes=C, in_channels=4,
                             **kwargs))
    with torch.no_grad():
        head.fc.weight.copy_(torch.randn(C, 4) * torch.tensor(
            [[3.], [2.], [1.], [.5], [.2]]))
        head.fc.bias.copy_(torch.randn(C))
    return head


def _x(n=6):
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize('tau', [0.0, 0.5, 1.0, 1.7])
def test_tau_norm_views_match_an_independent_computation(tau):
    head = _head('TauNormHead', tau=tau)
    x = _x()
    views = head.views((x, ))
    w = head.fc.weight.detach().double().numpy()
    b = head.fc.bias.detach().double().numpy()
    xs = x.double().numpy()
    plain = np.stack([[row @ w[c] + b[c] for c in range(C)] for row in xs])
    normed = np.stack([[row @ w[c] / np.sqrt((w[c]**2).sum())**tau
                        for c in range(C)] for row in xs])
    np.testing.assert_allclose(views['imbalanced'].detach().numpy(), plain,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(views['balanced'].detach().numpy(), normed,
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='tau must be'):
        _head('TauNormHead', tau=-1)


def test_lws_views_match_an_independent_computation():
    head = _head('LWSHead')
    with torch.no_grad():
        head.scales.copy_(torch.tensor([0.5, 1., 1.5, 2., 3.]))
    x = _x()
    views = head.views((x, ))
    w = head.fc.weight.detach().double().numpy()
    b = head.fc.bias.detach().double().numpy()
    s = [0.5, 1., 1.5, 2., 3.]
    plain = x.double().numpy() @ w.T + b
    np.testing.assert_allclose(views['imbalanced'].detach().numpy(), plain,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(views['balanced'].detach().numpy(),
                               plain * np.asarray(s), rtol=1e-5, atol=1e-5)
    assert [n for n, p in head.named_parameters()
            if p.requires_grad] == ['scales']


def test_crt_views_are_the_xe_and_the_retrained_classifier():
    head = _head('CRTHead')
    x = _x()
    views = head.views((x, ))
    torch.testing.assert_close(views['imbalanced'], head.fc(x))
    torch.testing.assert_close(views['balanced'], head.crt_fc(x))
    assert sorted(n for n, p in head.named_parameters()
                  if p.requires_grad) == ['crt_fc.bias', 'crt_fc.weight']
    # The loss trains the balanced (re-trained) classifier.
    samples = [DataSample().set_gt_label(i % C) for i in range(6)]
    head.loss((x, ), samples)['loss'].backward()
    assert head.crt_fc.weight.grad is not None
    assert head.fc.weight.grad is None


# --- frozen parts, one training step -------------------------------------
def _decoupled_model(algo, checkpoint):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'decoupling',
                 f'{algo}_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'))
    cfg.model.init_cfg.checkpoint = checkpoint
    cfg.model.data_preprocessor = cfg.data_preprocessor
    return MODELS.build(cfg.model)


def _images_batch(n=4, classes=100):
    g = torch.Generator().manual_seed(2)
    return dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), generator=g,
                              dtype=torch.uint8) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % classes)
                      for i in range(n)])


@pytest.mark.parametrize('algo', ['crt', 'lws'])
def test_frozen_xe_parts_unchanged_by_a_training_step(algo, tmp_path):
    from mmengine.optim import build_optim_wrapper
    xe = MODELS.build(
        Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models',
                                 'bbn-resnet32_linear.py')).model)
    xe.init_weights()
    with torch.no_grad():  # BN statistics an untrained net would not have
        for name, buf in xe.named_buffers():
            if name.endswith('running_mean'):
                buf.normal_()
    path = str(tmp_path / 'xe.pth')
    torch.save(dict(state_dict=xe.state_dict()), path)
    model = _decoupled_model(algo, path)
    model.init_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for key, value in xe.state_dict().items():  # loaded from the XE model
        torch.testing.assert_close(before[key], value)
    model.train()
    optim = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9,
                                   weight_decay=5e-4)))
    for _ in range(2):
        assert torch.isfinite(
            model.train_step(_images_batch(), optim)['loss'])
    after = model.state_dict()
    for key in xe.state_dict():  # backbone weights, BN buffers, head.fc
        if not key.endswith('num_batches_tracked'):
            torch.testing.assert_close(after[key], before[key], msg=key)
    trained = 'head.crt_fc.weight' if algo == 'crt' else 'head.scales'
    assert not torch.equal(after[trained], before[trained])


# --- configs --------------------------------------------------------------
DECOUPLING_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'decoupling', '*.py')))
STUDENT_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'xerm', 'xerm-crt_*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'xerm', 'xerm-taunorm_*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'xerm', 'xerm-lws_*.py')))


def test_every_config_builds_its_model():
    assert len(DECOUPLING_CONFIGS) == 6 and len(STUDENT_CONFIGS) == 6
    for path in DECOUPLING_CONFIGS + STUDENT_CONFIGS:
        cfg = Config.fromfile(path)
        model = MODELS.build(cfg.model)
        name = osp.basename(path)
        if name.startswith(('crt', 'lws')):
            assert cfg.train_dataloader.sampler.type == \
                'xerm_mm.ClassBalancedSampler', name
            assert cfg.model.init_cfg.checkpoint.startswith(
                'work_dirs/xe_bbn-resnet32_1xb128-'), name
            assert cfg.train_cfg.max_epochs == (2 if '-12e_' in name else
                                                10)
        if name.startswith('taunorm'):
            assert 'test' not in json.dumps(cfg.tau_norm_val_dataset)
        if name.startswith('xerm-'):
            algo = name.split('_')[0].split('-')[1]
            head = model.teachers['teacher'].head
            assert type(head).__name__ == dict(
                crt='CRTHead', lws='LWSHead', taunorm='TauNormHead')[algo]
            assert head.num_classes == model.head.num_classes
            assert not model.init_student_from_teacher
            assert model.head.loss_module.gamma == 2.0
            assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
            assert 'xerm_mm.XERMTeacherHook' in [
                h['type'] for h in cfg.custom_hooks]
            epochs = '12' if '-12e_' in name else '200'
            stage = dict(crt=f'crt_{{}}/epoch_{2 if epochs == "12" else 10}',
                         lws=f'lws_{{}}/epoch_{2 if epochs == "12" else 10}',
                         taunorm=f'xe_{{}}/epoch_{epochs}')[algo]
            recipe = f'bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100'
            assert cfg.model.teacher.checkpoint == (
                'work_dirs/' + stage.format(recipe) + '.pth')


# --- as xERM teachers -------------------------------------------------------
def _tiny_net(name):
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet32', stage_blocks=(1, 1, 1)),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type=name, num_classes=C, in_channels=64),
                data_preprocessor=dict(num_classes=C, mean=[120.] * 3,
                                       std=[60.] * 3))


@pytest.mark.parametrize('name', HEADS)
def test_xerm_student_of_each_decoupled_teacher_one_step(name, tmp_path):
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    teacher = MODELS.build(_tiny_net(name))
    teacher.init_weights()
    if name == 'LWSHead':
        with torch.no_grad():
            teacher.head.scales.copy_(torch.linspace(0.5, 2., C))
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    student = MODELS.build(
        dict(_tiny_net(name), type='XERMClassifier',
             head=dict(type='LinearClsHead', num_classes=C, in_channels=64,
                       loss=dict(type='XERMLoss', gamma=2.0)),
             teacher=dict(config=_tiny_net(name), checkpoint=path)))
    student.load_teachers()
    batch = _images_batch(6, C)
    data = student.data_preprocessor(batch, True)
    labels = torch.tensor([s.gt_label.item() for s in data['data_samples']])
    teacher.eval()
    with torch.no_grad():
        x = teacher.extract_feat(data['inputs'])[-1]
        imba = teacher.head.fc(x)
        if name == 'CRTHead':
            bal = teacher.head.crt_fc(x)
        elif name == 'LWSHead':
            bal = imba * torch.linspace(0.5, 2., C)
        else:
            w = teacher.head.fc.weight
            bal = x @ (w / w.norm(dim=1, keepdim=True)).t()
    feats = student.extract_feat(data['inputs'])
    expected = xerm_loss(student.head(feats), labels, imba, bal).loss.mean()
    losses = student.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(losses['loss'], expected)
    optim = build_optim_wrapper(student,
                                dict(optimizer=dict(type='SGD', lr=0.1)))
    assert torch.isfinite(student.train_step(batch, optim)['loss'])


def test_tau_norm_student_takes_the_chosen_tau_from_cfg_options():
    cfg = Config.fromfile(STUDENT_CONFIGS[-1].replace('xerm-lws_',
                                                      'xerm-taunorm_'))
    cfg.merge_from_dict({'model.teacher.config.head.tau': 0.7})
    model = MODELS.build(cfg.model)
    assert model.teachers['teacher'].head.tau == 0.7


def test_choose_tau_norm_refuses_configs_it_cannot_use(tmp_path):
    taunorm = osp.join(ROOT, 'configs', 'decoupling',
                       'taunorm_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py')
    no_held_out = tmp_path / 'no_held_out.py'
    no_held_out.write_text(f'_base_ = {taunorm!r}\n'
                           'tau_norm_val_dataset = None\n')
    with pytest.raises(KeyError, match='tau_norm_val_dataset.*never the '
                       'test set'):
        run_main('analysis_tools/choose_tau_norm', no_held_out, 'no.pth')
    crt = taunorm.replace('taunorm_', 'crt_')
    with pytest.raises(TypeError, match='CRTHead.*TauNormHead'):
        run_main('analysis_tools/choose_tau_norm', crt, 'no.pth')


# --- the held-out split and the tools, end to end ------------------------
HELD_OUT = """
tau_norm_val_dataset = dict(
    _delete_=True, type='xerm_mm.CIFAR10LTHeldOut', data_root={root!r},
    imbalance_ratio=10, images_per_class=dict(train=20, test=8),
    max_per_class=10, pipeline=[dict(type='PackInputs')])
"""


def test_held_out_split_is_the_unused_training_images(fake_cifar10_root):
    from xerm_mm.datasets import CIFAR10LT, CIFAR10LTHeldOut
    kwargs = dict(data_root=fake_cifar10_root, imbalance_ratio=10,
                  images_per_class=dict(train=20, test=8))
    train = CIFAR10LT(**kwargs)
    held = CIFAR10LTHeldOut(max_per_class=None, **kwargs)
    seen = {d['img'].tobytes() for d in train.data_list}
    assert not seen & {d['img'].tobytes() for d in held.data_list}
    assert len(train) + len(held) == 200
    assert held.metainfo['class_counts'] == tuple(
        20 - n for n in train.metainfo['class_counts'])
    assert held.metainfo['train_class_counts'] == train.metainfo[
        'class_counts']
    capped = CIFAR10LTHeldOut(max_per_class=5, **kwargs)
    assert max(capped.metainfo['class_counts']) == 5
    with pytest.raises(ValueError, match="split must be 'train'"):
        CIFAR10LTHeldOut(split='test', train_imbalance_ratio=10, **kwargs)


@pytest.mark.slow
def test_xe_then_decoupled_teachers_then_students_through_the_tools(
        xe_run, fake_cifar10_root, tmp_path):
    _, xe_dir, _ = xe_run
    xe_ckpt = osp.join(xe_dir, 'epoch_1.pth')
    recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
    # tau-norm: choose tau on the held-out images, then test with it.
    taunorm = small_cifar10_config(f'decoupling/taunorm_{recipe}',
                                   fake_cifar10_root, str(tmp_path / 'tn'),
                                   HELD_OUT.format(root=fake_cifar10_root))
    tau, out = run_main('analysis_tools/choose_tau_norm', taunorm, xe_ckpt,
                        '--out', tmp_path / 'tau.json', '--cfg-options',
                        'model.head.num_classes=10')
    assert f'chosen tau: {tau:g}' in out
    chosen = json.load(open(tmp_path / 'tau.json'))
    assert chosen['tau'] == tau
    assert chosen['cfg_options'] == {'model.head.tau': tau}
    run_main('test', taunorm, xe_ckpt, '--work-dir', tmp_path / 'tn_test',
             '--cfg-options', f'model.head.tau={tau}')
    # cRT and LWS: 1 epoch of the classifier stage on the frozen XE network.
    xe_state = torch.load(xe_ckpt, map_location='cpu')['state_dict']
    for algo in ('crt', 'lws'):
        config = small_cifar10_config(f'decoupling/{algo}_{recipe}',
                                      fake_cifar10_root,
                                      str(tmp_path / algo))
        run_main('train', config, '--work-dir', tmp_path / f'{algo}_run',
                 '--cfg-options', f'model.init_cfg.checkpoint={xe_ckpt}')
        state = torch.load(tmp_path / f'{algo}_run' / 'epoch_1.pth',
                           map_location='cpu')['state_dict']
        for key in ('backbone.conv1.weight', 'head.fc.weight'):
            torch.testing.assert_close(state[key], xe_state[key])
    crt = str(tmp_path / 'crt' / 'configs' / f'small_crt_{recipe}')
    crt_ckpt = tmp_path / 'crt_run' / 'epoch_1.pth'
    # The xERM students over the cRT and tau-norm teachers.
    for algo, ckpt, teacher_cfg in (('crt', crt_ckpt, crt),
                                    ('taunorm', xe_ckpt, None)):
        student = small_cifar10_config(f'xerm/xerm-{algo}_{recipe}',
                                       fake_cifar10_root,
                                       str(tmp_path / f's_{algo}'))
        options = [f'model.teacher.checkpoint={ckpt}']
        options.append(f'model.teacher.config={teacher_cfg}' if teacher_cfg
                       else 'model.teacher.config.head.num_classes=10')
        _, out = run_main('train', student, '--work-dir',
                          tmp_path / f'student_{algo}', '--cfg-options',
                          *options)
        assert osp.isfile(tmp_path / f'student_{algo}' / 'epoch_1.pth')
        assert 'w_ba' in out
