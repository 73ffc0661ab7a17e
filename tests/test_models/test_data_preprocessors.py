"""RandomPadCropFlip against mmpretrain's per-sample RandomCrop + RandomFlip,
and PixelAugClsDataPreprocessor, which runs it before normalisation."""
import os.path as osp
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.datasets.transforms import PackInputs, RandomCrop, RandomFlip

from xerm_mm.models.utils import (PixelAugClsDataPreprocessor,
                                  RandomPadCropFlip, pad_crop_flip)
from xerm_mm.registry import BATCH_AUGMENTS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAD = 4
OFFSETS = [(top, left) for top in range(2 * PAD + 1)
           for left in range(2 * PAD + 1)]


def _per_sample(img_hwc: np.ndarray,
                top: int,
                left: int,
                flip: bool,
                pad_val=0) -> torch.Tensor:
    """mmpretrain's CIFAR pipeline with a chosen offset and flip -> CHW.

    ``pad_val`` goes in as one value per channel: mmcv's impad hands a
    single number to OpenCV, which fills the first channel only.
    """
    h, w = img_hwc.shape[:2]
    crop = RandomCrop(crop_size=(h, w),
                      padding=PAD,
                      pad_val=(pad_val, ) * img_hwc.shape[2])
    with mock.patch.object(RandomCrop,
                           'rand_crop_params',
                           return_value=(top, left, h, w)):
        results = crop(dict(img=img_hwc.copy()))
    if flip:
        results = RandomFlip(prob=1.0, direction='horizontal')(results)
    return PackInputs()(results)['inputs']


def _image(dtype=np.uint8, h=32, w=32, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # 1..255: no pixel of the image equals the padding value 0.
    return rng.integers(1, 256, size=(h, w, 3)).astype(dtype)


def _chw(img_hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img_hwc).permute(2, 0, 1).contiguous()


def _candidates(img_hwc: np.ndarray) -> dict:
    """Bytes of each of mmpretrain's 162 outputs -> (top, left, flip)."""
    table = {}
    for top, left in OFFSETS:
        for flip in (False, True):
            out = _per_sample(img_hwc, top, left, flip).numpy()
            table[out.tobytes()] = (top, left, flip)
    assert len(table) == 2 * len(OFFSETS)
    return table


def _identify(outputs: torch.Tensor, table: dict) -> np.ndarray:
    """(top, left, flip) of each output sample; fails on a stray one."""
    found = []
    for out in outputs.numpy():
        assert out.tobytes() in table, 'no mmpretrain offset/flip gives it'
        found.append(table[out.tobytes()])
    return np.array(found, dtype=np.int64)


@pytest.mark.parametrize('dtype, pad_val', [(np.uint8, 0), (np.uint8, 7),
                                            (np.float32, 0),
                                            (np.float32, 12.5)])
def test_equals_mmpretrain_for_every_offset_and_flip(dtype, pad_val):
    img = _image(dtype, h=32, w=28)
    n = 2 * len(OFFSETS)
    top = torch.tensor([t for t, _ in OFFSETS] * 2)
    left = torch.tensor([lf for _, lf in OFFSETS] * 2)
    flip = torch.tensor([False] * len(OFFSETS) + [True] * len(OFFSETS))
    inputs = _chw(img).expand(n, -1, -1, -1)
    out = pad_crop_flip(inputs, top, left, flip, PAD, pad_val)
    assert out.dtype == inputs.dtype and out.shape == inputs.shape
    for i in range(n):
        expected = _per_sample(img, int(top[i]), int(left[i]), bool(flip[i]),
                               pad_val)
        assert torch.equal(out[i], expected), (int(top[i]), int(left[i]),
                                               bool(flip[i]))
    # The corner offsets really contain padding pixels.
    assert (out[0, :, :PAD, :] == pad_val).all()


def test_random_draws_reach_every_offset_and_flip_independently():
    img = _image()
    table = _candidates(img)
    n = 6000
    aug = RandomPadCropFlip(padding=PAD, pad_val=0, flip_prob=0.5)
    torch.manual_seed(0)
    out, samples = aug(_chw(img).expand(n, -1, -1, -1).contiguous(), 'keep')
    assert samples == 'keep'
    found = _identify(out, table)
    top, left, flip = found[:, 0], found[:, 1], found[:, 2].astype(bool)
    combos = set(map(tuple, found.tolist()))
    assert len(combos) == 2 * len(OFFSETS)  # all 81 offsets x 2 flips
    # Offsets near uniform (expected 74 each), flip rate near 0.5.
    counts = np.bincount(top * 9 + left, minlength=81)
    assert counts.min() > 35 and counts.max() < 120
    assert abs(flip.mean() - 0.5) < 0.04
    # No link between flip and offset, nor between the two offsets.
    for part in (top < PAD, top > PAD, left < PAD, left > PAD):
        assert abs(flip[part].mean() - 0.5) < 0.06
    assert abs((top == left).mean() - 1 / 9) < 0.03
    # Samples of one batch differ (not one draw for the batch).
    first = found[:20]
    assert len(set(map(tuple, first.tolist()))) > 10


@pytest.mark.parametrize('flip_prob', [0.0, 0.2, 1.0])
def test_flip_prob(flip_prob):
    img = _image(h=8, w=8)
    table = _candidates(img)
    torch.manual_seed(1)
    out, _ = RandomPadCropFlip(flip_prob=flip_prob)(_chw(img).expand(
        2000, -1, -1, -1))
    rate = _identify(out, table)[:, 2].mean()
    assert abs(rate - flip_prob) < 0.03


def test_padding_zero_only_flips():
    img = _image(h=6, w=5)
    inputs = _chw(img).expand(50, -1, -1, -1)
    torch.manual_seed(2)
    out, _ = RandomPadCropFlip(padding=0)(inputs)
    flipped = out.eq(inputs.flip(-1)).flatten(1).all(1)
    kept = out.eq(inputs).flatten(1).all(1)
    assert (flipped ^ kept).all() and flipped.any() and kept.any()


@pytest.mark.parametrize('dtype', [torch.uint8, torch.float32])
def test_dtype_shape_and_pixel_scale_kept(dtype):
    inputs = (torch.rand(16, 3, 32, 32) * 255).round().to(dtype) + 1
    torch.manual_seed(3)
    out, _ = RandomPadCropFlip()(inputs)
    assert out.dtype == dtype and out.shape == inputs.shape
    assert out.device == inputs.device
    # Only image pixels and the black padding, in the 0..255 scale.
    values = set(inputs.unique().tolist()) | {0}
    assert set(out.unique().tolist()) <= values
    assert out.float().max() > 200


def test_reproducible_under_manual_seed():
    inputs = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    aug = RandomPadCropFlip()
    torch.manual_seed(123)
    first, _ = aug(inputs)
    torch.manual_seed(123)
    second, _ = aug(inputs)
    third, _ = aug(inputs)
    assert torch.equal(first, second)
    assert not torch.equal(second, third)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_per_sample_reference():
    img = _image()
    table = _candidates(img)
    inputs = _chw(img).expand(500, -1, -1, -1).cuda()
    torch.manual_seed(4)
    out, _ = RandomPadCropFlip()(inputs)
    assert out.is_cuda and out.dtype == torch.uint8
    assert len(set(map(tuple, _identify(out.cpu(), table).tolist()))) > 100


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(padding=-1), ValueError, 'padding must be an integer >= 0'),
    (dict(padding=2.5), ValueError, 'padding must be an integer >= 0'),
    (dict(flip_prob=1.5), ValueError, r'flip_prob must be a number in'),
    (dict(flip_prob=-0.1), ValueError, r'flip_prob must be a number in'),
    (dict(pad_val=(0, 0, 0)), TypeError, 'pad_val must be a number'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomPadCropFlip(**kwargs)


@pytest.mark.parametrize('inputs', [
    torch.zeros(3, 32, 32),
    torch.zeros(2, 1, 3, 32, 32),
    [torch.zeros(3, 32, 32)],
])
def test_non_4d_input_raises(inputs):
    with pytest.raises(ValueError, match=r'shape \(N, C, H, W\)'):
        RandomPadCropFlip()(inputs)


def test_pad_val_outside_uint8_raises():
    with pytest.raises(ValueError, match=r'pad_val 300 is no torch.uint8'):
        RandomPadCropFlip(pad_val=300)(torch.zeros(1,
                                                   3,
                                                   8,
                                                   8,
                                                   dtype=torch.uint8))


def test_registered_in_xerm_mm_batch_augments():
    aug = BATCH_AUGMENTS.build(
        dict(type='xerm_mm.RandomPadCropFlip', padding=2, flip_prob=0.25))
    assert isinstance(aug, RandomPadCropFlip)
    assert (aug.padding, aug.pad_val, aug.flip_prob) == (2, 0, 0.25)
    assert BATCH_AUGMENTS.get('RandomPadCropFlip') is RandomPadCropFlip


# --- through a real ImageClassifier's data preprocessor -----------------
def _classifier(pixel_augments):
    """The CIFAR100-LT XE model, its config switched to the batch path."""
    cfg = Config.fromfile(
        osp.join(
            ROOT, 'configs/xe/xe_bbn-resnet32_1xb128-12e_'
            'cifar100lt-ib100.py'))
    cfg.merge_from_dict(
        dict(data_preprocessor=dict(type='xerm_mm.PixelAugClsDataPreprocessor',
                                    pixel_augments=pixel_augments)))
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model_cfg), cfg.data_preprocessor


def _packed_batch(n):
    return pseudo_collate([
        PackInputs()(dict(img=_image(seed=i), gt_label=i % 100))
        for i in range(n)
    ])


def test_data_preprocessor_augments_raw_pixels_before_normalising():
    model, dp_cfg = _classifier(
        [dict(type='xerm_mm.RandomPadCropFlip', padding=PAD)])
    preprocessor = model.data_preprocessor
    assert isinstance(preprocessor, PixelAugClsDataPreprocessor)
    aug = preprocessor.pixel_augments[0]
    assert isinstance(aug, RandomPadCropFlip)
    mean = torch.tensor(dp_cfg.mean).view(3, 1, 1)
    std = torch.tensor(dp_cfg.std).view(3, 1, 1)
    batch = _packed_batch(12)

    torch.manual_seed(5)
    data = preprocessor(batch, training=True)
    torch.manual_seed(5)
    top, left, flip = aug.draw(12, torch.device('cpu'))
    assert len(set(zip(top.tolist(), left.tolist()))) > 1
    for i in range(12):
        pixels = _per_sample(_image(seed=i), int(top[i]), int(left[i]),
                             bool(flip[i]))
        expected = (pixels.float() - mean) / std
        torch.testing.assert_close(data['inputs'][i], expected)
    # Black padding in pixel space: -mean/std after normalisation.
    black = (-mean / std).view(3, 1).expand(3, 32)
    padded_top = top.lt(PAD).nonzero().flatten().tolist()
    assert padded_top
    for i in padded_top:
        torch.testing.assert_close(data['inputs'][i][:, 0, :], black)
    labels = [s.gt_label.item() for s in data['data_samples']]
    assert labels == [i % 100 for i in range(12)]
    assert data['inputs'].dtype == torch.float32

    # Evaluation: no augmentation, as ClsDataPreprocessor.
    data = preprocessor(_packed_batch(3), training=False)
    for i in range(3):
        expected = (_chw(_image(seed=i)).float() - mean) / std
        torch.testing.assert_close(data['inputs'][i], expected)


def test_data_preprocessor_without_pixel_augments_is_cls_preprocessor():
    model, _ = _classifier(None)
    assert model.data_preprocessor.pixel_augments == []
    batch = _packed_batch(4)
    ours = model.data_preprocessor(batch, training=True)['inputs']
    plain = MODELS.build(
        dict(type='ClsDataPreprocessor',
             mean=[129.304, 124.070, 112.434],
             std=[68.170, 65.392, 70.418]))(batch, training=True)['inputs']
    torch.testing.assert_close(ours, plain)


def test_data_preprocessor_rejects_mixed_shapes_and_bad_augments():
    preprocessor = PixelAugClsDataPreprocessor(pixel_augments=dict(
        type='xerm_mm.RandomPadCropFlip'))
    batch = dict(inputs=[
        torch.zeros(3, 32, 32, dtype=torch.uint8),
        torch.zeros(3, 28, 28, dtype=torch.uint8)
    ])
    with pytest.raises(ValueError, match='images of one shape'):
        preprocessor(batch, training=True)
    with pytest.raises(TypeError, match='config dict or a callable'):
        PixelAugClsDataPreprocessor(pixel_augments=[3])


# The switch of docs/configs.md, "Augmentation on the device (batch)".
DEVICE_AUG = """
data_preprocessor = dict(
    type='xerm_mm.PixelAugClsDataPreprocessor',
    pixel_augments=[dict(type='xerm_mm.RandomPadCropFlip', padding=4)])
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
"""


def test_config_switch_of_the_docs_trains_through_tools_train(
        fake_cifar10_root, tmp_path):
    from conftest import small_cifar10_config
    from inprocess_tool import run_main
    base = small_cifar10_config(
        'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py', fake_cifar10_root,
        str(tmp_path))
    config = osp.join(osp.dirname(base), 'device_aug.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = {osp.basename(base)!r}\n' + DEVICE_AUG)
    calls = []
    real_call = RandomPadCropFlip.__call__

    def spy(self, inputs, data_samples=None):
        calls.append((inputs.dtype, tuple(inputs.shape)))
        return real_call(self, inputs, data_samples)

    with mock.patch.object(RandomPadCropFlip, '__call__', spy):
        run_main('train', config, '--work-dir', str(tmp_path / 'work'))
    # Every training batch, raw uint8 pixels (before normalisation).
    assert len(calls) >= 2
    assert all(dtype == torch.uint8 and shape[1:] == (3, 32, 32)
               for dtype, shape in calls)
    dumped = Config.fromfile(str(tmp_path / 'work' / osp.basename(config)))
    assert dumped.train_dataloader.dataset.pipeline == [
        dict(type='PackInputs')
    ]
    assert dumped.data_preprocessor.num_classes == 10
