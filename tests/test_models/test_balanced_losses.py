"""Logit adjustment, Balanced Softmax and LADE: the losses, the two-view head,
the class-count hook, the configs and their use as xERM teachers."""
import glob
import json
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

from conftest import small_cifar10_config
from inprocess_tool import run_main
from xerm_mm.engine.hooks import SetTrainClassCountsHook
from xerm_mm.models.losses import xerm_loss
from xerm_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C = 5
COUNTS = [40, 20, 10, 5, 2]
# Each registered loss with the tau of its adjustment.
LOSSES = {
    'LogitAdjustedLoss': (dict(type='LogitAdjustedLoss', tau=1.0), 1.0),
    'LogitAdjustedLoss-tau0.5': (dict(type='LogitAdjustedLoss', tau=0.5), 0.5),
    'BalancedSoftmaxLoss': (dict(type='BalancedSoftmaxLoss'), 1.0),
    'LADELoss': (dict(type='LADELoss'), 1.0),
}
ALGOS = ('la', 'bs', 'lade')

pytestmark = pytest.mark.usefixtures('one_thread', 'xerm_scope')


def _logits_labels(n=12, seed=0, missing_class=None):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, C, generator=g) * 3
    y = torch.arange(n) % C
    if missing_class is not None:
        y[y == missing_class] = (missing_class + 1) % C
    return z, y


def _prior():
    return np.array(COUNTS, dtype=np.float64) / sum(COUNTS)


def reference_adjusted_ce(z, y, tau):
    """Per sample: -log(pi_y^tau e^z_y / sum_j pi_j^tau e^z_j), in float64."""
    z, pi = z.double().numpy(), _prior()
    out = []
    for row, label in zip(z, y.tolist()):
        weights = pi**tau * np.exp(row - row.max())
        out.append(-math.log(weights[label] / weights.sum()))
    return float(np.mean(out))


def reference_lade_term(z, y, lam=0.1):
    """-sum_c pi_c (mean_{y=c} z_c - T2_c - lam T2_c^2), loop by class."""
    z, y, pi = z.double().numpy(), y.numpy(), _prior()
    total = 0.0
    for c in range(C):
        mine = z[y == c, c]
        first = mine.mean() if len(mine) else 0.0
        # T2 = log mean_i (e^{z_ic} / (pi_c * C))
        second = math.log(np.mean(np.exp(z[:, c]) / (pi[c] * C)))
        total -= pi[c] * (first - second - lam * second**2)
    return total


def reference_loss(name, z, y):
    if name == 'LADELoss':
        return (reference_adjusted_ce(z, y, 1.0) +
                0.1 * reference_lade_term(z, y))
    return reference_adjusted_ce(z, y, LOSSES[name][1])


@pytest.mark.parametrize('name', LOSSES)
@pytest.mark.parametrize('missing_class', [None, 2])
def test_loss_matches_an_independent_computation(name, missing_class):
    z, y = _logits_labels(missing_class=missing_class)
    loss = MODELS.build(dict(LOSSES[name][0], class_counts=COUNTS))
    assert float(loss(z, y)) == pytest.approx(reference_loss(name, z, y),
                                              rel=1e-5)


def test_balanced_softmax_is_the_logit_adjusted_loss_with_tau_1():
    z, y = _logits_labels(seed=3)
    bs = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=COUNTS))
    la = MODELS.build(dict(type='LogitAdjustedLoss', class_counts=COUNTS))
    assert bs.tau == 1.0
    assert torch.equal(bs(z, y), la(z, y))


def test_lade_weights_are_the_authors_cifar_config():
    lade = MODELS.build(dict(type='LADELoss'))
    assert (lade.lade_weight, lade.remine_lambda, lade.tau) == (0.1, 0.1, 1.)


def test_loss_gradient_and_low_precision_are_float32():
    z, y = _logits_labels()
    z = z.bfloat16().requires_grad_()
    loss = MODELS.build(dict(type='LADELoss', class_counts=COUNTS))(z, y)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(z.grad).all()


def head_cfg(name, **kwargs):
    return dict(type='LogitAdjustedHead',
                num_classes=C,
                in_channels=4,
                loss=LOSSES[name][0],
                **kwargs)


@pytest.mark.parametrize('name', LOSSES)
def test_head_views_and_loss(name):
    tau = LOSSES[name][1]
    head = MODELS.build(head_cfg(name))
    head.set_class_counts(COUNTS)
    feats = (torch.randn(6, 4), )
    z = head.fc(feats[-1])
    log_prior = torch.tensor(np.log(_prior()), dtype=torch.float32)
    views = head.views(feats)
    torch.testing.assert_close(views['balanced'], z)
    torch.testing.assert_close(views['imbalanced'], z + tau * log_prior)
    torch.testing.assert_close(head(feats), views['imbalanced'])
    pred = head.predict(feats)
    torch.testing.assert_close(torch.stack([p.pred_score for p in pred]),
                               z.softmax(1))
    # The loss sees z once adjusted (not twice): it is the loss of z.
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    samples = [DataSample().set_gt_label(int(i)) for i in labels]
    torch.testing.assert_close(
        head.loss(feats, samples)['loss'], head.loss_module(z, labels))


def test_head_with_a_test_prior():
    test_prior = [1, 2, 3, 4, 5]
    head = MODELS.build(
        head_cfg('LogitAdjustedLoss-tau0.5', test_prior=test_prior))
    feats = (torch.randn(3, 4), )
    z = head.fc(feats[-1])
    pi_t = torch.tensor(test_prior, dtype=torch.float32) / 15
    # Predicting with the balanced view needs no counts.
    scores = torch.stack([p.pred_score for p in head.predict(feats)])
    torch.testing.assert_close(scores, (z + 0.5 * (pi_t * C).log()).softmax(1))


def test_head_prior_travels_in_the_state_dict():
    head = MODELS.build(head_cfg('LADELoss'))
    assert not head.has_class_counts
    head.set_class_counts(COUNTS)
    fresh = MODELS.build(head_cfg('LADELoss'))
    fresh.load_state_dict(head.state_dict())
    assert fresh.has_class_counts
    torch.testing.assert_close(fresh.loss_module.log_prior_train,
                               head.loss_module.log_prior_train)
    # A loss built without num_classes takes its size from the checkpoint.
    loose = MODELS.build(dict(type='LogitAdjustedLoss'))
    loose.load_state_dict(head.loss_module.state_dict())
    torch.testing.assert_close(loose.log_prior_train,
                               head.loss_module.log_prior_train)


def test_counts_are_set_in_place_and_a_wrong_size_is_refused():
    head = MODELS.build(head_cfg('LogitAdjustedLoss'))
    buffer = head.loss_module.log_prior_train
    head.set_class_counts(COUNTS)
    # The same tensor: a DDP wrapper built before the hook keeps seeing it.
    assert head.loss_module.log_prior_train is buffer
    other = MODELS.build(dict(head_cfg('LogitAdjustedLoss'), num_classes=3))
    with pytest.raises(RuntimeError, match='size mismatch'):
        other.load_state_dict(head.state_dict())


@pytest.mark.parametrize('tau', [0.0, 1.0, 1.5])
def test_pc_head_tau_is_post_hoc_logit_adjustment(tau):
    head = MODELS.build(
        dict(type='PCHead',
             num_classes=C,
             in_channels=4,
             class_counts=COUNTS,
             tau=tau))
    feats = (torch.randn(3, 4), )
    z = head.fc(feats[-1])
    expected = z - tau * (torch.tensor(np.log(_prior() * C)).float())
    torch.testing.assert_close(head.views(feats)['balanced'], expected)
    torch.testing.assert_close(head.views(feats)['imbalanced'], z)


def _runner(model, metainfo):
    dataset = SimpleNamespace(metainfo=metainfo)
    loader = SimpleNamespace(dataset=dataset)
    return SimpleNamespace(model=model,
                           train_dataloader=loader,
                           val_dataloader=loader,
                           test_dataloader=loader,
                           logger=MMLogger.get_current_instance())


@pytest.mark.parametrize('head_type', ['LogitAdjustedHead', 'LinearClsHead'])
@pytest.mark.parametrize('name', LOSSES)
def test_hook_sets_the_counts_of_the_head_or_its_loss(head_type, name):
    head = MODELS.build(dict(head_cfg(name), type=head_type))
    model = SimpleNamespace(head=head)
    SetTrainClassCountsHook().before_train(
        _runner(model, dict(train_class_counts=COUNTS)))
    assert head.loss_module.has_class_counts
    torch.testing.assert_close(
        head.loss_module.log_prior_train,
        torch.tensor(np.log(_prior()), dtype=torch.float32))


def test_hook_without_counts_says_where_to_give_them():
    model = SimpleNamespace(head=MODELS.build(head_cfg('BalancedSoftmaxLoss')))
    with pytest.raises(KeyError, match=r'model.head.loss'):
        SetTrainClassCountsHook().before_train(_runner(model, {}))


@pytest.mark.parametrize('name', LOSSES)
def test_missing_counts_at_train_time_are_refused(name):
    loss = MODELS.build(LOSSES[name][0])
    z, y = _logits_labels()
    with pytest.raises(RuntimeError,
                       match='no training class counts.*SetTrainClassCounts'):
        loss(z, y)
    head = MODELS.build(head_cfg(name))
    with pytest.raises(RuntimeError, match='no training class counts'):
        head.views((torch.randn(2, 4), ))


@pytest.mark.parametrize('cfg, error, match', [
    (dict(type='LogitAdjustedLoss', tau=-0.5), ValueError, 'tau.*>= 0'),
    (dict(type='LogitAdjustedLoss', tau=float('nan')), ValueError, 'tau'),
    (dict(type='PCHead', num_classes=C, in_channels=4,
          tau=-1), ValueError, 'PCHead: tau'),
    (dict(type='LADELoss', remine_lambda=-1), ValueError, 'remine_lambda'),
    (dict(type='LogitAdjustedLoss',
          class_counts=[3, 0]), ValueError, 'class_counts must be > 0'),
    (dict(type='LogitAdjustedHead',
          num_classes=C,
          in_channels=4,
          loss=dict(type='CrossEntropyLoss')), TypeError, 'use PCHead'),
])
def test_bad_hyperparameters_are_refused(cfg, error, match):
    with pytest.raises(error, match=match):
        MODELS.build(cfg)


def test_wrong_counts_and_soft_labels_are_refused():
    loss = MODELS.build(dict(type='LogitAdjustedLoss', class_counts=COUNTS))
    with pytest.raises(ValueError, match='counts of 5 classes.*have 3'):
        loss(torch.randn(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='class indices.*Mixup'):
        loss(torch.randn(2, C), torch.eye(C)[:2])


# --- configs -----------------------------------------------------------
TEACHER_CONFIGS = sorted(
    p for algo in ALGOS
    for p in glob.glob(osp.join(ROOT, 'configs', algo, '*.py')))
STUDENT_CONFIGS = sorted(
    p for algo in ALGOS
    for p in glob.glob(osp.join(ROOT, 'configs', 'xerm', f'xerm-{algo}_*.py')))
LOSS_OF = dict(la='LogitAdjustedLoss',
               bs='BalancedSoftmaxLoss',
               lade='LADELoss')


def test_every_algorithm_has_both_schedules():
    names = {osp.basename(p) for p in TEACHER_CONFIGS + STUDENT_CONFIGS}
    for algo in ALGOS:
        for epochs in (12, 200):
            recipe = f'bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100.py'
            assert f'{algo}_{recipe}' in names
            assert f'xerm-{algo}_{recipe}' in names


@pytest.mark.parametrize('path', TEACHER_CONFIGS, ids=osp.basename)
def test_teacher_config_trains_one_step(path):
    cfg = Config.fromfile(path)
    algo = osp.basename(path).split('_')[0]
    assert 'SetTrainClassCountsHook' in [
        h.type.split('.')[-1] for h in cfg.custom_hooks
    ]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert type(model.head.loss_module).__name__ == LOSS_OF[algo]
    assert model.head.predict_view == 'balanced'
    counts = [500 - 5 * i for i in range(100)]
    SetTrainClassCountsHook().before_train(
        _runner(model, dict(train_class_counts=counts)))
    from mmengine.optim import build_optim_wrapper
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = dict(inputs=[
        torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(8)
    ],
                data_samples=[
                    DataSample().set_gt_label(i * 11) for i in range(8)
                ])
    before = model.head.fc.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, model.head.fc.weight)


@pytest.mark.parametrize('path', STUDENT_CONFIGS, ids=osp.basename)
def test_student_config_names_its_teacher(path):
    cfg = Config.fromfile(path)
    algo = osp.basename(path).split('_')[0].split('-')[1]
    epochs = cfg.train_cfg.max_epochs
    assert cfg.teacher_config == (
        f'xerm_mm::{algo}/{algo}_bbn-resnet32_1xb128-{epochs}e_'
        'cifar100lt-ib100.py')
    assert cfg.teacher_checkpoint == (
        f'work_dirs/{algo}_bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100/'
        f'epoch_{epochs}.pth')
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    model = MODELS.build(cfg.model)
    teacher_head = model.teachers['teacher'].head
    assert type(teacher_head).__name__ == 'LogitAdjustedHead'
    assert type(teacher_head.loss_module).__name__ == LOSS_OF[algo]
    assert type(model.head.loss_module).__name__ == 'XERMLoss'
    assert not model.init_student_from_teacher


# --- as xERM teachers --------------------------------------------------
def tiny_net(name):
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet32', stage_blocks=(1, 1, 1)),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(head_cfg(name), in_channels=64),
                data_preprocessor=dict(num_classes=C,
                                       mean=[120.] * 3,
                                       std=[60.] * 3))


def _batch(n=6):
    g = torch.Generator().manual_seed(1)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, 16, 16), generator=g, dtype=torch.uint8)
            for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i % C) for i in range(n)])


@pytest.mark.parametrize('name', LOSSES)
def test_xerm_student_of_each_teacher_one_step(name, tmp_path):
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    teacher = MODELS.build(tiny_net(name))
    teacher.init_weights()
    teacher.head.set_class_counts(COUNTS)
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    student = MODELS.build(
        dict(tiny_net(name),
             type='XERMClassifier',
             head=dict(type='LinearClsHead',
                       num_classes=C,
                       in_channels=64,
                       loss=dict(type='XERMLoss', gamma=2.0)),
             teacher=dict(config=tiny_net(name), checkpoint=path)))
    student.load_teachers()
    data = student.data_preprocessor(_batch(), True)
    feats = student.extract_feat(data['inputs'])
    labels = torch.tensor([s.gt_label.item() for s in data['data_samples']])
    # The teacher views, from the saved teacher's raw logits z = fc(x).
    teacher.eval()
    with torch.no_grad():
        z = teacher.head.fc(teacher.extract_feat(data['inputs'])[-1])
    tau = LOSSES[name][1]
    imba = z + tau * torch.tensor(np.log(_prior()), dtype=torch.float32)
    expected = xerm_loss(student.head(feats), labels, imba, z).loss.mean()
    losses = student.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(losses['loss'], expected)
    optim = build_optim_wrapper(student,
                                dict(optimizer=dict(type='SGD', lr=0.1)))
    assert torch.isfinite(student.train_step(_batch(), optim)['loss'])


# --- end to end through tools/train.py ---------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('algo', ALGOS)
def test_teacher_then_student_through_train_tool(algo, fake_cifar10_root,
                                                 tmp_path):
    recipe = 'bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
    teacher = small_cifar10_config(f'{algo}/{algo}_{recipe}',
                                   fake_cifar10_root, str(tmp_path / 't'))
    _, out = run_main('train', teacher, '--work-dir', tmp_path / 'teacher')
    assert 'training class counts set (10 classes' in out
    # tools/test.py: both views from the checkpoint (its prior included).
    metrics = tmp_path / 'views.json'
    run_main('test', teacher, tmp_path / 'teacher' / 'epoch_1.pth',
             '--work-dir', tmp_path / 'test', '--views', 'imbalanced',
             'balanced', '--metrics-out', metrics)
    keys = json.load(open(metrics))
    for view in ('imbalanced_view', 'balanced_view'):
        assert f'balanced/{view}/lt/top1' in keys
    student = small_cifar10_config(f'xerm/xerm-{algo}_{recipe}',
                                   fake_cifar10_root, str(tmp_path / 's'))
    _, out = run_main(
        'train', student, '--work-dir', tmp_path / 'student', '--cfg-options',
        f'model.teacher.config={teacher}',
        f'model.teacher.checkpoint={tmp_path}/teacher/epoch_1.pth')
    assert osp.isfile(tmp_path / 'student' / 'epoch_1.pth')
    assert 'w_ba' in out


@pytest.mark.parametrize('epochs', [12, 200])
def test_pipeline_trains_each_teacher_then_its_student(epochs):
    from xerm_mm.experiment import make_plan
    recipe = f'bbn-resnet32_1xb128-{epochs}e_cifar100lt-ib100'
    plan = make_plan(
        osp.join(ROOT, 'configs', 'pipelines', f'xerm-balanced_{recipe}.py'),
        'work')
    stages = plan.report['stages']
    assert list(stages) == [
        'xe', 'la', 'bs', 'lade', 'xerm_la', 'xerm_bs', 'xerm_lade'
    ]
    for algo in ALGOS:
        student = plan.step(f'train_xerm_{algo}')
        assert student.inputs == [stages[algo]['record']]
        assert student.params['config'].endswith(f'xerm-{algo}_{recipe}.py')
        assert stages[algo]['checkpoint'].endswith(f'epoch_{epochs}.pth')
    assert list(plan.report['evaluations']) == [
        'XE', 'LA', 'BS', 'LADE', 'xERM-LA', 'xERM-BS', 'xERM-LADE']


def test_report_summary_judges_each_student_against_its_teacher():
    from xerm_mm.report import summarize_tables
    table1 = {
        m: {
            'top1': t,
            'few_recall': f
        }
        for m, t, f in (('XE', 20., 0.), ('LADE', 25., 5.), ('xERM-LADE', 26.,
                                                             4.))
    }
    table4 = {
        'XE': {
            'balanced': 20.,
            'ib100': 40.
        },
        'LADE': {
            'balanced': 25.,
            'ib100': 30.
        },
        'xERM-LADE': {
            'balanced': 26.,
            'ib100': 35.
        }
    }
    first, second = summarize_tables(table1, table4)
    assert "5.0 points below LADE's" in first
    assert second.startswith('xERM-LADE is between or above XE and the '
                             'balanced teacher on all 2')
