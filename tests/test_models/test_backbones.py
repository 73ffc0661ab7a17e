"""Tests of the CIFAR ResNet-32 backbones."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from xerm_mm.models.backbones import BBNResNet32, ResNet32
from xerm_mm.registry import MODELS


def _conv3x3(cin, cout):
    return 9 * cin * cout


def _bn(c):
    return 2 * c  # weight and bias


def _block(cin, cout):
    """Basic block: two 3x3 convs and two BNs; option-A shortcut is free."""
    return _conv3x3(cin, cout) + _bn(cout) + _conv3x3(cout, cout) + _bn(cout)


def _expected_params(stage_blocks, branches=0):
    total = _conv3x3(3, 16) + _bn(16)
    cin = 16
    for cout, n in zip((16, 32, 64), stage_blocks):
        total += _block(cin, cout) + (n - 1) * _block(cout, cout)
        cin = cout
    return total + branches * _block(64, 64)


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture
def xerm_scope():
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        yield


@pytest.mark.parametrize('type_,channels,expected', [
    ('ResNet32', 64, _expected_params((5, 5, 5))),
    ('BBNResNet32', 128, _expected_params((5, 5, 4), branches=2)),
])
def test_shape_and_param_count(type_, channels, expected):
    model = MODELS.build(dict(type=type_))
    assert model.out_channels == channels
    assert _num_params(model) == expected
    outs = model(torch.randn(2, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (2, channels, 8, 8)


def test_param_counts_pinned():
    # He et al. report ~0.46M for ResNet-32; 464,154 with a 10-class FC.
    assert _expected_params((5, 5, 5)) == 463_504
    assert _num_params(ResNet32()) + 64 * 10 + 10 == 464_154
    assert _num_params(BBNResNet32()) == 537_488


def test_option_a_shortcut_is_parameter_free_and_correct():
    block = ResNet32().layer2[0]
    x = torch.randn(1, 16, 8, 8)
    y = block.downsample(x)
    assert _num_params(block.downsample) == 0
    assert y.shape == (1, 32, 4, 4)
    torch.testing.assert_close(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0


def test_bbn_branches_are_concatenated():
    model = BBNResNet32().eval()
    x = torch.randn(2, 3, 32, 32)
    stage3 = model.forward_stages(x)
    assert stage3.shape == (2, 64, 8, 8)
    out = model(x)[0]
    torch.testing.assert_close(out[:, :64], model.branch1(stage3))
    torch.testing.assert_close(out[:, 64:], model.branch2(stage3))


@pytest.mark.parametrize('frozen_stages', [-1, 0, 2])
def test_frozen_stages_and_norm_eval(frozen_stages):
    model = ResNet32(frozen_stages=frozen_stages, norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    stages = [model.conv1, model.bn1, model.layer1, model.layer2,
              model.layer3]
    num_frozen = 0 if frozen_stages < 0 else frozen_stages + 2  # stem: 2
    for i, m in enumerate(stages):
        grads = {p.requires_grad for p in m.parameters()}
        assert grads == {i >= num_frozen}


def test_init_weights_kaiming_and_bn():
    model = ResNet32()
    with torch.no_grad():
        model.bn1.weight.fill_(3.0)
        model.bn1.bias.fill_(2.0)
    model.init_weights()
    assert torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0)
    # Kaiming normal, fan_out, relu: std = sqrt(2 / (9 * 64)) for layer3.
    std = model.layer3[1].conv1.weight.std().item()
    assert std == pytest.approx((2 / (9 * 64))**0.5, rel=0.1)


def test_image_classifier_loss_and_predict(xerm_scope):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='BBNResNet32'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=10,
                in_channels=128,
                loss=dict(type='CrossEntropyLoss'))))
    assert isinstance(model.backbone, BBNResNet32)
    inputs = torch.randn(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = model(inputs, samples, mode='loss')
    assert losses['loss'].ndim == 0 and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.backbone.conv1.weight.grad is not None
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (10, )


# Stage maps of a 32x32 input: (channels, side) per stage index.
STAGE_MAPS = {
    'ResNet32': [(16, 32), (32, 16), (64, 8)],
    'BBNResNet32': [(16, 32), (32, 16), (64, 8), (128, 8)],
    'RIDEResNet32': [(16, 32), (48, 16), (96, 8)],
}


@pytest.mark.parametrize('type_', sorted(STAGE_MAPS))
def test_out_indices_as_mmpretrain_resnets(type_):
    # mmpretrain's tools read backbone.out_indices (vis_tsne.py names its
    # features 'feat_{index}'); its ResNets return the maps of those stages.
    stages = STAGE_MAPS[type_]
    torch.manual_seed(0)
    default = MODELS.build(dict(type=type_)).eval()
    assert default.out_indices == (len(stages) - 1, )
    every = MODELS.build(
        dict(type=type_, out_indices=tuple(range(len(stages))))).eval()
    every.load_state_dict(default.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outs, last = every(x), default(x)
    assert [o.shape for o in outs] == [(2, c, s, s) for c, s in stages]
    assert len(last) == 1
    torch.testing.assert_close(outs[-1], last[0])
    # Negative indices count from the last stage, as in mmpretrain.
    negative = MODELS.build(dict(type=type_, out_indices=(-2, -1)))
    assert negative.out_indices == (len(stages) - 2, len(stages) - 1)
    assert MODELS.build(dict(type=type_, out_indices=0)).out_indices == (0, )


@pytest.mark.parametrize('bad', [(3, ), (-4, ), ('2', )])
def test_out_indices_out_of_range_is_named(bad):
    with pytest.raises(ValueError, match=r'out_indices.*ResNet32 has 3 '
                       r'stages'):
        ResNet32(out_indices=bad)
