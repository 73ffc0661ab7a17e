"""Tests of the two-view heads PCHead and TDEHead."""
import datetime
import math

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample

from xerm_mm.models.heads import PCHead, TDEHead, TwoViewClsHead
from xerm_mm.registry import MODELS

C, D = 5, 8
COUNTS = [50, 20, 9, 4, 2]


pytestmark = pytest.mark.usefixtures('one_thread')


def _build(type_, **kwargs):
    cfg = dict(type=type_, num_classes=C, in_channels=D)
    if type_ == 'PCHead':
        cfg['class_counts'] = COUNTS
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _ready(type_, **kwargs):
    """A head whose balanced view is available (counts / one update)."""
    torch.manual_seed(0)
    head = _build(type_, **kwargs)
    if type_ == 'TDEHead':
        head.train()
        head((torch.randn(6, D) + 1.0, ))
    return head.eval()


def _feats(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, D, generator=g), )


# --- independent references (plain loops, float64) -------------------------


def ref_pc(z, counts, test_prior=None):
    z = np.asarray(z, dtype=np.float64)
    n, c = z.shape
    p_train = np.asarray(counts, np.float64) / np.sum(counts)
    p_test = (np.full(c, 1.0 / c) if test_prior is None else
              np.asarray(test_prior, np.float64) / np.sum(test_prior))
    out = np.empty_like(z)
    for i in range(n):
        for j in range(c):
            out[i, j] = z[i, j] - math.log(p_train[j]) + math.log(p_test[j])
    return out


def ref_tde(x, w, m, k, tau, gamma, alpha):
    """Returns (y_TE, y_TDE) with the per-head formulas written out."""
    x, w, m = (np.asarray(a, np.float64) for a in (x, w, m))
    n, d = x.shape
    c = w.shape[0]
    h = d // k
    te, tde = np.zeros((n, c)), np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            for head in range(k):
                sl = slice(head * h, (head + 1) * h)
                xh = x[i, sl] / np.linalg.norm(x[i, sl])
                wh = w[j, sl] / (np.linalg.norm(w[j, sl]) + gamma)
                ch = m[sl] / np.linalg.norm(m[sl])
                cos = float(xh @ ch)
                te[i, j] += tau / k * float(xh @ wh)
                tde[i, j] += tau / k * float((xh - alpha * cos * ch) @ wh)
    return te, tde


# --- views against the references -----------------------------------------


@pytest.mark.parametrize('test_prior', [None, [1, 2, 3, 4, 5]])
def test_pc_views_match_reference(test_prior):
    head = _ready('PCHead', test_prior=test_prior)
    feats = _feats()
    views = head.views(feats)
    z = head.fc(feats[0])
    torch.testing.assert_close(views['imbalanced'], z)
    expected = ref_pc(z.detach(), COUNTS, test_prior)
    np.testing.assert_allclose(
        views['balanced'].detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('k,tau,gamma,alpha', [(2, 16.0, 1 / 32, 1.5),
                                               (4, 10.0, 0.1, 3.0),
                                               (1, 16.0, 0.0, 1.0)])
def test_tde_views_match_reference(k, tau, gamma, alpha):
    head = _build(
        'TDEHead', num_heads=k, tau=tau, gamma=gamma, alpha=alpha).eval()
    m = torch.randn(D)
    head.moving_avg.copy_(m)
    head.num_updates.fill_(3)
    feats = _feats()
    views = head.views(feats)
    te, tde = ref_tde(feats[0], head.weight.detach(), m, k, tau, gamma, alpha)
    for name, ref in [('imbalanced', te), ('balanced', tde)]:
        np.testing.assert_allclose(
            views[name].detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(head(feats), views['imbalanced'])


def test_tde_alpha_zero_equals_te():
    head = _ready('TDEHead', alpha=0.0)
    views = head.views(_feats())
    torch.testing.assert_close(views['balanced'], views['imbalanced'])


def test_pc_uniform_counts_and_matching_test_prior():
    uniform = _build('PCHead', class_counts=[7] * C).eval()
    views = uniform.views(_feats())
    torch.testing.assert_close(
        views['balanced'].softmax(1), views['imbalanced'].softmax(1))
    diff = views['balanced'] - views['imbalanced']
    torch.testing.assert_close(diff, diff[:, :1].expand_as(diff))
    same = _build('PCHead', test_prior=COUNTS).eval()
    views = same.views(_feats())
    torch.testing.assert_close(views['balanced'], views['imbalanced'])


# --- buffers, checkpoints ---------------------------------------------------


@pytest.mark.parametrize('type_,buffers', [
    ('PCHead', {'log_prior_train'}),
    ('TDEHead', {'moving_avg', 'num_updates'}),
])
def test_buffers_survive_save_load(tmp_path, type_, buffers):
    head = _ready(type_)
    state = head.state_dict()
    assert buffers <= set(state)
    assert 'log_prior_test' not in state  # the test prior comes from config
    path = tmp_path / 'head.pth'
    torch.save(state, path)
    fresh = _build(type_, class_counts=None) if type_ == 'PCHead' else \
        _build(type_)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    fresh.eval()
    for name in buffers:
        torch.testing.assert_close(
            getattr(fresh, name), getattr(head, name), rtol=0, atol=0)
    feats = _feats()
    torch.testing.assert_close(
        fresh.views(feats)['balanced'], head.views(feats)['balanced'])


# --- moving average ---------------------------------------------------------


@pytest.mark.parametrize('momentum', [0.9, 0.5])
def test_moving_average_updates_only_in_training(momentum):
    head = _build('TDEHead', momentum=momentum).train()
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(n, D, generator=g) + 2 for n in (3, 4, 5, 2)]
    m = np.zeros(D)
    calls = [head.forward, head.views, head.forward, head.predict]
    for x, call in zip(batches, calls):
        call((x, ))
        m = momentum * m + x.double().numpy().mean(axis=0)
    np.testing.assert_allclose(head.moving_avg.numpy(), m, rtol=1e-5)
    assert int(head.num_updates) == len(batches)
    labels = [DataSample().set_gt_label(1)] * 3
    head.loss((batches[0][:3], ), labels)
    m = momentum * m + batches[0][:3].double().numpy().mean(axis=0)
    np.testing.assert_allclose(head.moving_avg.numpy(), m, rtol=1e-5)

    before = head.moving_avg.clone()
    head.eval()
    head(_feats())
    head.views(_feats())
    head.predict(_feats())
    torch.testing.assert_close(head.moving_avg, before, rtol=0, atol=0)
    assert int(head.num_updates) == len(batches) + 1


def test_moving_average_is_detached():
    head = _build('TDEHead').train()
    x = torch.randn(4, D, requires_grad=True)
    head((x, )).sum().backward()
    assert not head.moving_avg.requires_grad
    assert head.weight.grad is not None and x.grad is not None


@pytest.mark.parametrize('flag,lr,expected', [(True, 0.2, 0.9),
                                              (True, 0.001, 0.995),
                                              (True, 0.0, 1.0),
                                              (False, 0.001, 0.7)])
def test_set_momentum_from_lr(flag, lr, expected):
    head = _build('TDEHead', momentum=0.7, lr_dependent_momentum=flag)
    assert head.set_momentum_from_lr(lr) == pytest.approx(expected)
    assert head.momentum == pytest.approx(expected)


# --- errors -----------------------------------------------------------------


def test_pc_without_counts_refuses_balanced_view():
    head = _build('PCHead', class_counts=None).eval()
    assert not head.has_class_counts
    with pytest.raises(RuntimeError, match='class_counts=.*SetTrainClass'):
        head.views(_feats())
    with pytest.raises(RuntimeError, match='train_class_counts'):
        head.predict(_feats())
    head.predict_view = 'imbalanced'
    assert len(head.predict(_feats())) == 4
    head.set_class_counts(COUNTS)
    assert head.has_class_counts
    head.views(_feats())


def test_tde_never_updated_refuses_balanced_view():
    head = _build('TDEHead').eval()
    with pytest.raises(RuntimeError, match='never updated'):
        head.views(_feats())
    with pytest.raises(RuntimeError, match='never updated'):
        head.predict(_feats())
    head.predict_view = 'imbalanced'
    assert len(head.predict(_feats())) == 4


@pytest.mark.parametrize('counts', [[1, 2, 3], [1, 2, 0, 4, 5],
                                    [1, 2, -3, 4, 5]])
def test_pc_invalid_counts(counts):
    head = _build('PCHead', class_counts=None)
    with pytest.raises(ValueError, match='class_counts'):
        head.set_class_counts(counts)
    with pytest.raises(ValueError, match='class_counts'):
        _build('PCHead', class_counts=counts)


def test_tde_in_channels_not_divisible():
    with pytest.raises(ValueError, match=r'in_channels=10.*num_heads=3'):
        _build('TDEHead', in_channels=10, num_heads=3)


@pytest.mark.parametrize('type_', ['PCHead', 'TDEHead'])
def test_predict_view_switch_and_invalid(type_):
    with pytest.raises(ValueError, match='predict_view'):
        _build(type_, predict_view='tde')
    head = _ready(type_)
    feats = _feats(n=6)
    views = head.views(feats)
    assert not torch.allclose(views['balanced'], views['imbalanced'])
    for view in ('imbalanced', 'balanced', 'imbalanced'):
        head.predict_view = view
        preds = head.predict(feats)
        scores = torch.stack([p.pred_score for p in preds])
        torch.testing.assert_close(scores, views[view].softmax(1))
        labels = torch.cat([p.pred_label for p in preds])
        torch.testing.assert_close(labels, views[view].argmax(1))
    with pytest.raises(ValueError, match='predict_view'):
        head.predict_view = 'uniform'
    assert head.predict_view == 'imbalanced'


def test_one_two_view_base_class():
    # forward / views / predict / predict_view live once, in the base class;
    # PCHead keeps LinearClsHead's layer and initialisation.
    shared = ('forward', 'views', 'predict', 'predict_view')
    for cls in (PCHead, TDEHead):
        assert issubclass(cls, TwoViewClsHead)
        assert not set(shared) & set(vars(cls))
        for name in shared:
            assert getattr(cls, name) is getattr(TwoViewClsHead, name)
    assert issubclass(PCHead, LinearClsHead)
    assert _build('PCHead').init_cfg == dict(
        type='Normal', layer='Linear', std=0.01)


@pytest.mark.parametrize('type_', ['PCHead', 'TDEHead'])
def test_loss_with_data_samples(type_):
    head = _ready(type_)
    feats = _feats(n=4)
    labels = [0, 3, 1, 4]
    samples = [DataSample().set_gt_label(y) for y in labels]
    expected = F.cross_entropy(head(feats), torch.tensor(labels))
    head.train()
    losses = head.loss(feats, samples)
    torch.testing.assert_close(losses['loss'], expected)
    losses['loss'].backward()
    params = [p for p in head.parameters() if p.requires_grad]
    assert params and all(p.grad is not None for p in params)


@pytest.mark.parametrize('type_,cls', [('PCHead', PCHead),
                                       ('TDEHead', TDEHead)])
def test_in_image_classifier(type_, cls):
    head = dict(type=type_, num_classes=C, in_channels=64)
    if type_ == 'PCHead':
        head['class_counts'] = COUNTS
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='ResNet32'),
                neck=dict(type='GlobalAveragePooling'),
                head=head))
    assert isinstance(model.head, cls)
    inputs = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(y) for y in (0, 4)]
    loss = model(inputs, samples, mode='loss')['loss']
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
        feats = model.extract_feat(inputs)
        scores = model.head.views(feats)['balanced'].softmax(1)
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]),
                               scores)


# --- distributed moving average ---------------------------------------------


def _gloo_worker(rank, world_size, tmp_dir, batches):
    torch.set_num_threads(1)
    torch_dist.init_process_group(
        'gloo',
        init_method=f'file://{tmp_dir}/init',
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=60))
    try:
        head = TDEHead(num_classes=C, in_channels=D, momentum=0.8).train()
        for step in batches:
            head((step[rank], ))
        torch.save(
            {
                'moving_avg': head.moving_avg,
                'num_updates': head.num_updates
            }, f'{tmp_dir}/rank{rank}.pt')
    finally:
        torch_dist.destroy_process_group()


def test_moving_average_agrees_across_processes(tmp_path):
    g = torch.Generator().manual_seed(0)
    sizes = [(4, 4), (3, 3), (2, 5)]  # equal batches, then an unequal one
    batches = [[torch.randn(n, D, generator=g) + r for r, n in enumerate(s)]
               for s in sizes]
    # 'fork' (as DataLoader workers do) starts in well under a second; 'spawn'
    # re-imports mmpretrain in each child (~15 s on 2 busy cores).
    method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
    mp.start_processes(
        _gloo_worker,
        args=(2, str(tmp_path), batches),
        nprocs=2,
        start_method=method)
    m = np.zeros(D)
    for step in batches:
        union = torch.cat(step).double().numpy()
        m = 0.8 * m + union.mean(axis=0)
    results = [
        torch.load(tmp_path / f'rank{r}.pt', weights_only=True)
        for r in range(2)
    ]
    torch.testing.assert_close(
        results[0]['moving_avg'], results[1]['moving_avg'], rtol=0, atol=0)
    np.testing.assert_allclose(
        results[0]['moving_avg'].numpy(), m, rtol=1e-5)
    assert int(results[0]['num_updates']) == len(batches)


# --- bf16 autocast ----------------------------------------------------------


def test_tde_under_bf16_autocast_keeps_float32_and_moving_average():
    """Under CPU bf16 autocast: float32 buffer, float32 logits and loss, the
    moving average updated from the float32 value of the (bf16) features."""
    heads = {}
    feats = [torch.randn(6, D) + 1.0, torch.randn(5, D) - 0.5]
    labels = [DataSample().set_gt_label(i % C) for i in range(6)]
    for name, dtype in (('fp32', None), ('bf16', torch.bfloat16)):
        torch.manual_seed(0)
        head = _build('TDEHead').train()
        with torch.autocast('cpu', dtype=torch.bfloat16,
                            enabled=dtype is not None):
            # The backbone's features come in the autocast dtype.
            x = feats[0].to(dtype) if dtype else feats[0]
            losses = head.loss((x, ), labels)
            out = head.views(((feats[1].to(dtype) if dtype else feats[1]), ))
        assert head.moving_avg.dtype is torch.float32
        assert losses['loss'].dtype is torch.float32
        assert all(v.dtype is torch.float32 for v in out.values())
        heads[name] = (head, losses['loss'], out)
    (fp32, loss32, out32), (bf16, loss16, out16) = heads['fp32'], heads['bf16']
    # The average of the bf16-rounded features, accumulated in float32.
    expected = 0.9 * feats[0].to(torch.bfloat16).float().mean(0) + feats[1].to(
        torch.bfloat16).float().mean(0)
    torch.testing.assert_close(bf16.moving_avg, expected, rtol=1e-6,
                               atol=1e-6)
    torch.testing.assert_close(bf16.moving_avg, fp32.moving_avg, rtol=1e-2,
                               atol=1e-2)
    torch.testing.assert_close(loss16, loss32, rtol=1e-2, atol=1e-2)
    for view in out32:
        torch.testing.assert_close(out16[view], out32[view], rtol=0,
                                   atol=0.1)
