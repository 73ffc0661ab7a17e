"""XERMClassifier: frozen teachers outside the module tree, the xERM loss."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tiny_xerm import (PREFIXES, TEACHERS, C, N, batch, net, save_teacher,
                       student_cfg)
from xerm_mm.models.losses import xerm_loss
from xerm_mm.registry import MODELS
from xerm_mm.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


pytestmark = pytest.mark.usefixtures('one_thread', 'xerm_scope')


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('teachers')
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        return {
            name: save_teacher(cfg, str(root / f'{name}.pth'), seed=i)
            for i, (name, cfg) in enumerate(TEACHERS.items())
        }


def build(variant, ckpts, load=True, **kwargs):
    torch.manual_seed(100)
    model = MODELS.build(student_cfg(variant, ckpts, **kwargs))
    model.init_weights()
    if load:
        model.load_teachers()
    return model


def reference_scores(variant, ckpts, inputs):
    """Teacher logits from independently built and loaded networks."""

    def load(name):
        model = MODELS.build(TEACHERS[name])
        model.load_state_dict(torch.load(ckpts[name])['state_dict'])
        return model.eval()

    with torch.no_grad():
        if variant in ('tde', 'pc'):
            t = load(variant)
            views = t.head.views(t.extract_feat(inputs))
            return views['imbalanced'], views['balanced']
        xe, tde = load('xe'), load('tde')
        return (xe(inputs, mode='tensor'),
                tde.head.views(tde.extract_feat(inputs))['balanced'])


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


VARIANTS = ['tde', 'pc', 'two']


@pytest.mark.parametrize('variant', VARIANTS)
def test_teachers_frozen_while_the_student_trains(variant, ckpts):
    model = build(variant, ckpts)
    teachers = model.teachers
    before = {role: state(t) for role, t in teachers.items()}
    student_before = state(model)
    optim = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9)))
    optimised = {id(p) for g in optim.param_groups for p in g['params']}
    assert optimised == {id(p) for p in model.parameters()}
    for teacher in teachers.values():
        assert not optimised & {id(p) for p in teacher.parameters()}
        assert not any(p.requires_grad for p in teacher.parameters())
    model.train()
    for teacher in teachers.values():
        teacher.train()  # e.g. by a careless hook: the forward undoes it
    for step in range(3):
        log = model.train_step(batch(seed=step), optim)
        assert {'loss', 'w_imba', 'w_ba'} <= set(log)
    for role, teacher in teachers.items():
        # Parameters, BN running stats, TDE moving_avg / num_updates.
        for key, value in teacher.state_dict().items():
            assert torch.equal(value, before[role][key]), (role, key)
        assert not any(m.training for m in teacher.modules())
    changed = [
        k for k, v in model.state_dict().items()
        if not torch.equal(v, student_before[k])
    ]
    assert any(k.startswith('backbone.') for k in changed)
    assert any(k.startswith('head.') for k in changed)


@pytest.mark.parametrize('variant', VARIANTS)
def test_teachers_are_not_submodules_but_move_with_the_model(
        variant, ckpts):
    model = build(variant, ckpts)
    keys = list(model.state_dict())
    assert all(k.startswith(PREFIXES) for k in keys)
    assert not any('teacher' in name for name, _ in model.named_modules())
    student_params = sum(p.numel() for p in model.parameters())
    teacher_params = sum(
        p.numel() for t in model.teachers.values() for p in t.parameters())
    assert teacher_params > 0
    assert student_params == sum(
        p.numel() for p in MODELS.build(
            dict(net(model.head.__class__.__name__))).parameters())
    model.train()
    assert model.training and model.backbone.training
    assert not any(t.training for t in model.teachers.values())
    model.double()
    for teacher in model.teachers.values():
        assert all(p.dtype == torch.float64 for p in teacher.parameters())
    model.float()
    assert all(p.dtype == torch.float32 for t in model.teachers.values()
               for p in t.parameters())


@pytest.mark.parametrize('variant', VARIANTS)
def test_loss_is_xerm_of_independent_teacher_views(variant, ckpts):
    model = build(variant, ckpts).eval()  # eval: deterministic student
    data = model.data_preprocessor(batch(), False)
    inputs, samples = data['inputs'], data['data_samples']
    imba, ba = reference_scores(variant, ckpts, inputs)
    assert not torch.allclose(imba, ba)  # the two views differ
    scores = model.teacher_scores(inputs)
    torch.testing.assert_close(scores['imbalanced'], imba)
    torch.testing.assert_close(scores['balanced'], ba)

    losses = model.loss(inputs, samples)
    with torch.no_grad():
        logits = model.head(model.extract_feat(inputs))
    labels = torch.cat([s.gt_label for s in samples])
    loss, w_imba, w_ba = xerm_loss(logits, labels, imba, ba, gamma=2.0)
    assert set(losses) == {'loss', 'w_imba', 'w_ba'}
    torch.testing.assert_close(losses['loss'], loss.mean())
    torch.testing.assert_close(losses['w_imba'], w_imba.mean())
    torch.testing.assert_close(losses['w_ba'], w_ba.mean())
    assert losses['loss'].requires_grad and not losses['w_ba'].requires_grad


def test_student_predicts_without_teacher_files(ckpts, tmp_path):
    model = build('tde', dict(ckpts, tde=str(tmp_path / 'none.pth')),
                  load=False).eval()
    data = model.data_preprocessor(batch(), False)
    logits = model(data['inputs'])  # tensor mode: the TE logits
    assert logits.shape == (N, C)
    preds = model.predict(data['inputs'], data['data_samples'])
    torch.testing.assert_close(
        torch.stack([p.pred_score for p in preds]), logits.softmax(dim=1))
    with pytest.raises(RuntimeError, match='XERMTeacherHook'):
        model.loss(data['inputs'], data['data_samples'])


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(imbalanced_teacher='xe', balanced_teacher='tde'), ValueError,
         'not both'),
        (dict(teacher=None), ValueError, 'needs teachers'),
        (dict(teacher=None, imbalanced_teacher='xe'), ValueError,
         'balanced_teacher= is missing'),
        (dict(teacher='xe'), ValueError, 'no views'),
        (dict(teacher=dict(cfg=TEACHERS['tde'])), ValueError, 'got keys'),
        (dict(teacher=dict(config='xerm_mm::nope/missing.py')),
         FileNotFoundError, 'missing.py'),
        (dict(teacher=dict(config=3)), TypeError, 'model.teacher.config'),
    ])
def test_bad_teacher_specs(kwargs, error, match, ckpts):
    spec = {
        k: (dict(config=TEACHERS[v], checkpoint=ckpts[v])
            if isinstance(v, str) else v)
        for k, v in kwargs.items()
    }
    with pytest.raises(error, match=match):
        MODELS.build(student_cfg('tde', ckpts, **spec))


@pytest.mark.parametrize('checkpoint', [None, 'missing.pth'])
def test_missing_teacher_checkpoint_names_the_override(
        checkpoint, ckpts, tmp_path):
    path = checkpoint and str(tmp_path / checkpoint)
    model = build('tde', dict(ckpts, tde=path), load=False)
    with pytest.raises(FileNotFoundError) as info:
        model.load_teachers()
    assert 'model.teacher.checkpoint' in str(info.value)
    assert str(path) in str(info.value)
    assert not model.teachers_loaded


def _broken_teacher(kind, ckpts, folder):
    """A copy of the TDE teacher checkpoint: NaN, empty or truncated."""
    path = str(folder / f'{kind}.pth')
    if kind == 'nan':
        ckpt = torch.load(ckpts['tde'], weights_only=True)
        ckpt['state_dict']['backbone.conv1.weight'][0] = float('nan')
        torch.save(ckpt, path)
    else:
        with open(ckpts['tde'], 'rb') as f:
            data = f.read()
        with open(path, 'wb') as f:
            f.write(b'' if kind == 'empty' else data[:len(data) // 2])
    return path


@pytest.mark.parametrize('kind,what', [
    ('nan', 'NaN/inf weights in 1 tensor(s): backbone.conv1.weight'),
    ('empty', 'is empty'),
    ('truncated', 'is truncated'),
])
def test_a_broken_teacher_checkpoint_names_the_teacher_and_file(
        kind, what, ckpts, tmp_path):
    path = _broken_teacher(kind, ckpts, tmp_path)
    model = build('tde', dict(ckpts, tde=path), load=False)
    # Before: NaN passed (the first step said "lower the lr, drop --amp"),
    # empty gave a bare EOFError, truncated torch's own message.
    with pytest.raises(RuntimeError) as info:
        model.load_teachers()
    message = str(info.value)
    assert 'model.teacher.checkpoint' in message
    assert path in message and what in message
    assert '--amp' not in message
    assert not model.teachers_loaded


def test_teacher_checkpoint_of_another_class_count_is_refused(ckpts):
    model = MODELS.build(
        student_cfg('pc', ckpts,
                    teacher=dict(config=net('PCHead', num_classes=7),
                                 checkpoint=ckpts['pc'])))
    with pytest.raises(RuntimeError, match='another number of classes'):
        model.load_teachers()


def test_xe_checkpoint_loads_into_a_pc_teacher_without_counts(ckpts):
    model = build('pc', ckpts, load=False,
                  teacher=dict(config=net('PCHead'), checkpoint=ckpts['xe']))
    model.load_teachers()  # head.log_prior_train may be missing
    assert not model.teachers['teacher'].head.has_class_counts


def test_init_from_teacher_copies_matching_tensors(ckpts):
    model = build('pc', ckpts, init_student_from_teacher=True)
    assert model.init_student_from_teacher
    teacher = model.teachers['teacher'].state_dict()
    student = model.state_dict()
    assert not torch.equal(student['head.fc.weight'],
                           teacher['head.fc.weight'])
    copied = model.init_from_teacher()
    assert copied == len(student)  # every student tensor has a match
    for key, value in model.state_dict().items():
        assert torch.equal(value, teacher[key]), key


# The CIFAR and digits students (the large benchmarks':
# tests/test_configs/test_lt_recipes.py; Decoupling's:
# tests/test_models/test_decoupling.py).
CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', 'xerm', '*_bbn-resnet32_*.py'))
    if not osp.basename(p).startswith(('xerm-crt_', 'xerm-lws_',
                                       'xerm-taunorm_')))


def test_every_recipe_has_a_config():
    names = {osp.basename(p) for p in CONFIGS}
    for method in ('pc', 'tde'):
        for ib in (100, 50, 10):
            for epochs in (200, 12):
                assert (f'xerm-{method}_bbn-resnet32_1xb128-{epochs}e_'
                        f'cifar100lt-ib{ib}.py') in names
        assert f'xerm-{method}_bbn-resnet32_1xb64-30e_digitslt-ib10.py' in (
            names)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_xerm_config_builds_without_teacher_files(path):
    cfg = Config.fromfile(path)
    method = osp.basename(path).split('_')[0].split('-')[1]
    teacher_path = cfg.teacher_config.replace(
        'xerm_mm::', osp.join(ROOT, 'configs') + '/')
    teacher_cfg = Config.fromfile(teacher_path)
    # Same data and schedule as the student; default checkpoint of the last
    # epoch, in the work dir of the network that is trained for the teacher.
    epochs = cfg.train_cfg.max_epochs
    assert teacher_cfg.train_cfg.max_epochs == epochs
    assert (teacher_cfg.train_dataloader.dataset.imbalance_ratio ==
            cfg.train_dataloader.dataset.imbalance_ratio)
    assert cfg.model.teacher == dict(
        config=cfg.teacher_config, checkpoint=cfg.teacher_checkpoint)
    assert cfg.teacher_checkpoint.endswith(f'/epoch_{epochs}.pth')
    trained = 'xe' if method == 'pc' else method
    assert cfg.teacher_checkpoint.startswith(f'work_dirs/{trained}_')
    # The CIFAR students' 1e-4; the 200-epoch xERM-TDE ones keep the
    # schedule's 5e-4 (the authors' xERM-TDE code).
    long_tde = method == 'tde' and '-200e_cifar' in osp.basename(path)
    assert cfg.optim_wrapper.optimizer.weight_decay == (
        5e-4 if long_tde else 1e-4)
    hooks = [h['type'].split('.')[-1] for h in cfg.custom_hooks]
    assert 'XERMTeacherHook' in hooks
    assert ('TDEMomentumHook' in hooks) == (method == 'tde')

    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'XERMClassifier'
    assert model.head.loss_module.gamma == 2.0
    teacher_head = model.teachers['teacher'].head
    if method == 'pc':
        assert type(model.head).__name__ == 'LinearClsHead'
        assert type(teacher_head).__name__ == 'PCHead'
        assert model.init_student_from_teacher
    elif method in ('la', 'bs', 'lade'):
        # tests/test_models/test_balanced_losses.py checks these students
        # further.
        assert type(teacher_head).__name__ == 'LogitAdjustedHead'
        assert not model.init_student_from_teacher
    else:
        assert type(model.head).__name__ == 'TDEHead'
        assert model.head.predict_view == 'imbalanced'
        assert type(teacher_head).__name__ == 'TDEHead'
        # The authors' xERM-TDE starts fresh; the demo's (digits IB 100, 16
        # epochs) starts from its teacher, as its recipe says.
        assert model.init_student_from_teacher == ('digitslt-ib100' in path)
    assert teacher_head.num_classes == model.head.num_classes


@pytest.mark.parametrize('variant', VARIANTS)
def test_bf16_autocast_keeps_the_loss_and_teacher_scores_float32(
        variant, ckpts):
    """Under CPU bf16 autocast (``--amp`` without CUDA) the backbones run in
    bf16, but the teachers' scores, the weights and the loss are float32,
    close to the float32 run; the teachers' state is untouched."""
    data = build(variant, ckpts).data_preprocessor(batch(), True)
    inputs, samples = data['inputs'], data['data_samples']
    results = {}
    for name, enabled in (('fp32', False), ('bf16', True)):
        model = build(variant, ckpts).train()
        before = {role: state(t) for role, t in model.teachers.items()}
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=enabled):
            assert model.extract_feat(inputs)[-1].dtype is (
                torch.bfloat16 if enabled else torch.float32)
            scores = model.teacher_scores(inputs)
            losses = model.loss(inputs, samples)
        assert all(s.dtype is torch.float32 for s in scores.values())
        assert all(v.dtype is torch.float32 for v in losses.values())
        for role, teacher in model.teachers.items():
            for key, value in teacher.state_dict().items():
                assert value.dtype == before[role][key].dtype
                assert torch.equal(value, before[role][key]), (role, key)
        if variant == 'tde':  # the student's TDE head: float32 average
            assert model.head.moving_avg.dtype is torch.float32
            results[name + '_avg'] = model.head.moving_avg.clone()
        results[name] = (scores, losses)
    (s32, l32), (s16, l16) = results['fp32'], results['bf16']
    for view in s32:
        torch.testing.assert_close(s16[view], s32[view], rtol=0, atol=0.1)
    for key in l32:
        torch.testing.assert_close(l16[key], l32[key], rtol=0.02, atol=0.02)
    if variant == 'tde':
        torch.testing.assert_close(results['bf16_avg'], results['fp32_avg'],
                                   rtol=0.02, atol=0.02)



def test_channels_last_reaches_the_teachers(ckpts):
    """``model.to(memory_format=...)`` (XERMRunner's ``memory_format``)
    reaches the teachers; their scores are the NCHW ones to rounding."""
    model = build('two', ckpts)
    model.to(memory_format=torch.channels_last)
    for teacher in model.teachers.values():
        assert teacher.backbone.conv1.weight.is_contiguous(
            memory_format=torch.channels_last)
    inputs = model.data_preprocessor(batch(), True)['inputs']
    scores = model.teacher_scores(inputs)
    imba, ba = reference_scores('two', ckpts, inputs)
    torch.testing.assert_close(scores['imbalanced'], imba)
    torch.testing.assert_close(scores['balanced'], ba)
