"""RIDE (Wang et al., ICLR 2021) and xERM over it, as the xERM authors'
release: backbone, head views, the teacher and student losses against
independent computations, one training step of each config, and the tools
end to end on a tiny CIFAR-10 (slow)."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from conftest import ROOT, small_cifar10_config
from xerm_mm.models.backbones import RIDEResNet32
from xerm_mm.models.heads import RIDEHead
from xerm_mm.models.losses import RIDELoss, RIDEXERMLoss
from xerm_mm.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')

RECIPE = 'ride{}-resnet32_1xb128-12e_cifar100lt-ib100'
COUNTS = [50, 30, 20, 10, 5]


def _conv(cin, cout):
    return 9 * cin * cout


def _block(cin, cout):  # two 3x3 convs + two BNs; option-A shortcut: none
    return _conv(cin, cout) + _conv(cout, cout) + 4 * cout


def _stage(cin, cout, blocks):
    return _block(cin, cout) + (blocks - 1) * _block(cout, cout)


@pytest.mark.parametrize('experts', [1, 2, 3])
def test_backbone_shapes_and_parameters(experts):
    net = RIDEResNet32(num_experts=experts)
    shared = _conv(3, 16) + 2 * 16 + _stage(16, 16, 5)
    expert = _stage(16, 24, 5) + _stage(24, 48, 5)
    assert sum(p.numel() for p in net.parameters()) == shared + (experts *
                                                                 expert)
    net.eval()
    out = net(torch.randn(2, 3, 32, 32))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 48 * experts, 8, 8)
    assert net.out_channels == 48 * experts


def test_backbone_experts_own_their_channels():
    net = RIDEResNet32(num_experts=3).eval()
    x = torch.randn(2, 3, 32, 32)
    before = net(x)[0]
    with torch.no_grad():
        net.expert_layer3[1][-1].conv2.weight.mul_(2)
    after = net(x)[0]
    changed = (before - after).abs().flatten(2).amax(dim=2).amax(dim=0)
    assert changed[48:96].max() > 0
    assert changed[:48].max() == 0 and changed[96:].max() == 0


def test_backbone_freezes_and_rejects_bad_input():
    net = RIDEResNet32(num_experts=2, frozen_stages=2)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert trainable == 2 * _stage(24, 48, 5)
    with pytest.raises(ValueError, match='num_experts'):
        RIDEResNet32(num_experts=0)
    with pytest.raises(ValueError, match='in_channels'):
        RIDEHead(num_classes=5, in_channels=100, num_experts=3)
    with pytest.raises(ValueError, match='cal_acc'):
        RIDEHead(num_classes=5, in_channels=96, cal_acc=True)


def _head(experts=3, tau=2.0, **kwargs):
    torch.manual_seed(0)
    head = RIDEHead(
        num_classes=5, in_channels=8 * experts, num_experts=experts,
        tau=tau, **kwargs)
    return head


def test_head_views_against_an_independent_computation():
    head = _head()
    x = torch.randn(4, 24)
    with pytest.raises(RuntimeError, match='class counts'):
        head.views((x, ))
    head.set_class_counts(COUNTS)
    experts = []
    for k in range(3):
        xk = x[:, 8 * k:8 * (k + 1)]
        cos = F.cosine_similarity(
            xk[:, None, :], head.weight[k][None, :, :], dim=-1)
        experts.append(30 * cos)
    experts = torch.stack(experts, dim=1)
    prior = torch.tensor(COUNTS, dtype=torch.float64)
    # -log(prior_train) twice, plus the log of the uniform test prior.
    shift = (-2 * (prior / prior.sum()).log() + math.log(1 / 5)).float()
    mean = experts.mean(dim=1)
    views = head.views((x, ))
    torch.testing.assert_close(views['imbalanced'], mean)
    torch.testing.assert_close(views['balanced'], mean + shift)
    torch.testing.assert_close(head((x, )), mean)
    per_expert = head.expert_views((x, ))
    torch.testing.assert_close(per_expert['imbalanced'], experts)
    torch.testing.assert_close(per_expert['balanced'],
                               experts + shift)
    scores = head.predict((x, ))[0].pred_score
    torch.testing.assert_close(scores,
                               (mean + shift).softmax(-1)[0])


def _ldam(counts, max_margin=0.5):
    n = torch.tensor(counts, dtype=torch.float64)
    return (max_margin * (n.min() / n)**0.25).float()


def _ldam_ce(experts, label, counts, max_margin=0.5, scale=30.0):
    """(N,) sum over the experts of the LDAM cross-entropy, one by one."""
    margins = _ldam(counts, max_margin)
    total = torch.zeros(experts.size(0))
    for k in range(experts.size(1)):
        z = experts[:, k].clone()
        for i, y in enumerate(label.tolist()):
            z[i, y] = z[i, y] - scale * margins[y]
        total = total + F.cross_entropy(z, label, reduction='none')
    return total


def test_ride_loss_against_an_independent_computation():
    torch.manual_seed(1)
    experts = torch.randn(6, 3, 5) * 5
    label = torch.tensor([0, 1, 2, 3, 4, 4])
    loss = RIDELoss(class_counts=COUNTS)
    torch.testing.assert_close(
        loss(experts, label), _ldam_ce(experts, label, COUNTS).mean())
    plain = RIDELoss(max_margin=0)
    torch.testing.assert_close(
        plain(experts, label),
        sum(F.cross_entropy(experts[:, k], label) for k in range(3)))
    with pytest.raises(RuntimeError, match='class counts'):
        RIDELoss()(experts, label)
    with pytest.raises(ValueError, match='one integer label'):
        loss(experts, F.one_hot(label, 5).float())
    # The rarest class has the largest margin, max_margin.
    assert math.isclose(float(loss.margins.max()), 0.5, rel_tol=1e-6)
    assert int(loss.margins.argmax()) == COUNTS.index(min(COUNTS))


def test_head_gives_its_counts_to_the_loss():
    head = _head(loss=dict(type='xerm_mm.RIDELoss'))
    head.set_class_counts(COUNTS)
    x = torch.randn(4, 24)
    samples = [DataSample().set_gt_label(y) for y in (0, 2, 4, 4)]
    loss = head.loss((x, ), samples)['loss']
    experts = head.expert_views((x, ))['imbalanced']
    torch.testing.assert_close(
        loss, _ldam_ce(experts, torch.tensor([0, 2, 4, 4]), COUNTS).mean())


def test_ride_xerm_loss_against_an_independent_computation():
    torch.manual_seed(2)
    n, k, c = 6, 2, 5
    student = (torch.randn(n, k, c) * 4).requires_grad_()
    t_imba = torch.randn(n, k, c) * 4
    adjust = torch.randn(c)
    t_ba = t_imba + adjust
    label = torch.tensor([0, 1, 2, 3, 4, 0])
    loss = RIDEXERMLoss(gamma=1.0, class_counts=COUNTS)
    value = loss(student, label, imbalanced_score=t_imba,
                 balanced_score=t_ba)

    s = student.detach()
    xe_imba = F.cross_entropy(t_imba.mean(1), label, reduction='none')
    xe_ba = F.cross_entropy(t_ba.mean(1), label, reduction='none')
    w_ba = xe_ba / (xe_ba + xe_imba + 1e-5)
    w_imba = 1 - w_ba
    hard = _ldam_ce(s, label, COUNTS)
    soft = torch.zeros(n)
    for j in range(k):
        p = t_ba[:, j].softmax(-1)
        soft = soft - (p * s[:, j].log_softmax(-1)).sum(-1)
    expected = (w_imba * hard + w_ba * soft).mean()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(loss.last_weights['w_ba'], w_ba.mean())
    torch.testing.assert_close(loss.last_weights['w_imba'], w_imba.mean())
    value.backward()
    assert student.grad is not None and torch.isfinite(student.grad).all()

    # w_ba = 0 is the teacher's loss; gamma squares the cross-entropies.
    ce = RIDEXERMLoss(constant_weight=0.0, class_counts=COUNTS)
    torch.testing.assert_close(
        ce(s, label, imbalanced_score=t_imba, balanced_score=t_ba),
        RIDELoss(class_counts=COUNTS)(s, label))
    squared = RIDEXERMLoss(gamma=2.0, class_counts=COUNTS)
    squared(s, label, imbalanced_score=t_imba, balanced_score=t_ba)
    torch.testing.assert_close(
        squared.last_weights['w_ba'],
        (xe_ba**2 / (xe_ba**2 + xe_imba**2 + 1e-5)).mean())
    with pytest.raises(ValueError, match='experts'):
        loss(s, label, imbalanced_score=t_imba[:, :1], balanced_score=t_ba)
    with pytest.raises(ValueError, match='both teacher scores'):
        loss(s, label)


def _batch(n=4, classes=100):
    torch.manual_seed(3)
    inputs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
              for _ in range(n)]
    samples = [DataSample().set_gt_label(i % classes) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def _config(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'ride', name))


def _one_step(model, cfg):
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(_batch(), wrapper)
    assert torch.isfinite(log['loss'])
    moved = any(not torch.equal(a, p.detach())
                for a, p in zip(before, model.parameters()))
    assert moved
    return log


@pytest.mark.parametrize('experts', [2, 3])
def test_one_step_of_the_teacher_and_the_student_configs(
        experts, tmp_path, xerm_scope):
    recipe = RECIPE.format(experts)
    teacher_cfg = _config(f'ride-pc_{recipe}.py')
    teacher = MODELS.build(teacher_cfg.model)
    teacher.init_weights()
    counts = [500 - 5 * i for i in range(100)]
    teacher.head.set_class_counts(counts)
    _one_step(teacher, teacher_cfg)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)

    student_cfg = _config(f'xerm-ride-pc_{recipe}.py')
    assert student_cfg.model.teacher.config == (
        f'xerm_mm::ride/ride-pc_{recipe}.py')
    student_cfg.model.teacher.checkpoint = ckpt
    student = MODELS.build(student_cfg.model)
    student.init_weights()
    student.head.set_class_counts(counts)
    student.load_teachers()
    assert student.init_from_teacher() == len(
        [k for k in student.state_dict()
         if k.startswith(('backbone.', 'neck.', 'head.'))])
    frozen = {k: v.clone() for k, v in student.teachers['teacher'].
              state_dict().items()}
    log = _one_step(student, student_cfg)
    assert 0 <= float(log['w_ba']) <= 1
    for key, value in student.teachers['teacher'].state_dict().items():
        assert torch.equal(value, frozen[key]), key
    data = student.data_preprocessor(_batch(), False)
    scores = student.teacher_scores(data['inputs'])
    assert scores['balanced'].shape == (4, 100)
    per_expert = student.loss_teacher_scores(data['inputs'])
    assert per_expert['balanced'].shape == (4, experts, 100)
    torch.testing.assert_close(per_expert['balanced'].mean(1),
                               scores['balanced'])


def test_the_student_needs_a_ride_teacher(xerm_scope):
    cfg = _config(f'xerm-ride-pc_{RECIPE.format(2)}.py')
    cfg.model.teacher.config = 'xerm_mm::pc/pc_bbn-resnet32_1xb128-12e_' \
        'cifar100lt-ib100.py'
    with pytest.raises(ValueError, match='expert_views'):
        MODELS.build(cfg.model)


@pytest.mark.slow
def test_the_pipeline_trains_and_tests_ride_and_xerm_ride(
        fake_cifar10_root, tmp_path):
    """The RIDE pipeline's stages and evaluations on a tiny CIFAR-10: the
    teacher and the student through tools/train.py, RIDE, RIDE-PC and
    xERM-RIDE-PC through tools/test.py, then the report."""
    from pipeline_setup import run_pipeline
    base = Config.fromfile(
        osp.join(ROOT, 'configs', 'pipelines',
                 f'xerm-ride_{RECIPE.format(2)}.py'))
    folder = str(tmp_path)
    paths = {}
    for stage in base.stages:
        name = stage['config'].split('::', 1)[1]
        extra = ''
        if 'teacher' in stage:
            extra = (f'model.update(teacher=dict('
                     f'config={paths[stage.teacher]!r}))\n')
        paths[stage['name']] = small_cifar10_config(
            name, fake_cifar10_root, osp.join(folder, stage['name']), extra)
    stages = [dict(s, config=paths[s['name']]) for s in base.stages]
    config = osp.join(folder, 'pipeline.py')
    with open(config, 'w') as f:
        f.write(f'stages = {stages!r}\nevaluations = '
                f'{[dict(e) for e in base.evaluations]!r}\n')
    work = osp.join(folder, 'work')
    out = run_pipeline(config, '--work-dir', work)
    assert 'exit:' not in out, out[-5000:]
    with open(osp.join(work, 'xerm_ride', 'pipeline.log')) as f:
        log = f.read()
    assert 'init_student_from_teacher: copied' in log
    assert 'w_ba_epoch_mean' in log
    with open(osp.join(work, 'report.md')) as f:
        report = f.read()
    for method in ('RIDE', 'RIDE-PC', 'xERM-RIDE-PC'):
        assert f'| {method} |' in report, report


@pytest.mark.parametrize('algo,weight_decay,steps', [
    ('ride-pc', 5e-4, (160, 180)),
    ('xerm-ride-pc', 2e-4, (120, 160)),
])
def test_the_200_epoch_schedules_are_the_authors(algo, weight_decay, steps,
                                                  xerm_scope):
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = _config(f'{algo}_ride2-resnet32_1xb128-200e_cifar100lt-ib100.py')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.nesterov,
            optimizer.weight_decay) == (0.1, 0.9, True, weight_decay)
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.train_dataloader.batch_size == 128
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=sgd))
        for s in cfg.param_scheduler
    ]
    for epoch in range(200):
        # The authors' per-epoch LambdaLR (their train.py, CustomLR).
        factor = 0.01**sum(epoch >= s for s in steps)
        if epoch < 5:
            factor *= (1 + epoch) / 5
        assert math.isclose(sgd.param_groups[0]['lr'], 0.1 * factor,
                            rel_tol=1e-6), epoch
        for scheduler in schedulers:
            scheduler.step()
