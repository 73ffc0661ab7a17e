"""CIFAR ResNet-32 backbones: classic He et al. and the BBN/TDE variant."""
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.backbones.resnet import BasicBlock

from xerm_mm.registry import MODELS

_DEFAULT_INIT = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm']),
]


class ZeroPadShortcut(nn.Module):
    """He et al.'s "option A" shortcut: subsample and zero-pad channels.

    ``y = pad_channels(x[:, :, ::s, ::s])`` with ``(out - in) // 2`` zero
    channels in front and the rest behind. It has no parameters.

    Args:
        in_channels (int): Channels of the input.
        out_channels (int): Channels of the output (``>= in_channels``).
        stride (int): Spatial subsampling step.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f'ZeroPadShortcut cannot reduce channels '
                             f'({in_channels} -> {out_channels})')
        self.stride = stride
        self.pad_front = (out_channels - in_channels) // 2
        self.pad_back = out_channels - in_channels - self.pad_front

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Subsample by ``stride`` and pad the channel dimension with zeros."""
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_front, self.pad_back))


def _make_block(in_channels: int, out_channels: int, stride: int,
                norm_cfg: dict) -> BasicBlock:
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = ZeroPadShortcut(in_channels, out_channels, stride)
    return BasicBlock(
        in_channels,
        out_channels,
        stride=stride,
        downsample=shortcut,
        norm_cfg=norm_cfg)


def _check_out_indices(backbone: str, indices: Union[int, Sequence[int]],
                       stage_names: Sequence[str]) -> Tuple[int, ...]:
    """``indices`` as non-negative stage indices, as mmpretrain's ResNet."""
    num = len(stage_names)
    if isinstance(indices, int):
        indices = (indices, )
    checked = []
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int) or \
                not -num <= index < num:
            stages = ', '.join(f'{i} {n}' for i, n in enumerate(stage_names))
            raise ValueError(
                f'out_indices={tuple(indices)!r}: {backbone} has {num} '
                f'stages ({stages}); give indices 0..{num - 1}, or '
                f'-{num}..-1 from the last one.')
        checked.append(index % num)
    if not checked:
        raise ValueError(f'out_indices of {backbone} is empty: give at least '
                         f'one stage index, e.g. ({num - 1}, ).')
    return tuple(checked)


def _make_stage(in_channels: int, out_channels: int, num_blocks: int,
                stride: int, norm_cfg: dict) -> nn.Sequential:
    blocks = [_make_block(in_channels, out_channels, stride, norm_cfg)]
    blocks += [
        _make_block(out_channels, out_channels, 1, norm_cfg)
        for _ in range(num_blocks - 1)
    ]
    return nn.Sequential(*blocks)


@MODELS.register_module()
class ResNet32(BaseBackbone):
    """Classic CIFAR ResNet-32 (He et al., 2016), 64-d output.

    Stages for ``frozen_stages``: 0 is the stem, 1..3 are ``layer1..3``; for
    ``out_indices``: 0..2 are ``layer1..3``.

    Args:
        in_channels (int): Input image channels. Defaults to 3.
        stage_blocks (Sequence[int]): Basic blocks per stage.
            Defaults to ``(5, 5, 5)``.
        out_indices (int | Sequence[int]): The stages whose maps
            ``forward`` returns, in stage order; negative ones count from the
            last stage. Defaults to ``(-1, )``, the last stage
            (``self.out_indices`` holds them non-negative).
        frozen_stages (int): Freeze (no grad, eval mode) the stem and stages
            ``1..frozen_stages``; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BN layer in eval mode while training.
            Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming (fan_out,
            normal) for convs and weight 1 / bias 0 for BN; applied by
            ``init_weights()`` (the runner calls it).
    """

    stage_channels = (16, 32, 64)
    stage_strides = (1, 2, 2)
    #: Names of the stages that ``out_indices`` count.
    out_stage_names = ('layer1', 'layer2', 'layer3')

    def __init__(self,
                 in_channels: int = 3,
                 stage_blocks: Sequence[int] = (5, 5, 5),
                 out_indices: Union[int, Sequence[int]] = (-1, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = _DEFAULT_INIT):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = _check_out_indices(
            type(self).__name__, out_indices, self.out_stage_names)
        if len(stage_blocks) != len(self.stage_channels):
            raise ValueError(f'stage_blocks needs '
                             f'{len(self.stage_channels)} entries, got '
                             f'{tuple(stage_blocks)}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        stem_channels = self.stage_channels[0]
        self.conv1 = build_conv_layer(
            None, in_channels, stem_channels, 3, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(
            norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

        self.stage_names: List[str] = []
        channels = stem_channels
        for i, (out, n, s) in enumerate(
                zip(self.stage_channels, stage_blocks, self.stage_strides)):
            name = f'layer{i + 1}'
            self.add_module(name, _make_stage(channels, out, n, s, norm_cfg))
            self.stage_names.append(name)
            channels = out
        self.out_channels = channels
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        """The stem's norm layer."""
        return getattr(self, self.norm1_name)

    def _stages_for_freezing(self) -> List[List[nn.Module]]:
        stem = [self.conv1, self.norm1]
        return [stem] + [[getattr(self, n)] for n in self.stage_names]

    def _freeze_stages(self) -> None:
        for modules in self._stages_for_freezing()[:self.frozen_stages + 1]:
            for m in modules:
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True):
        """Set train/eval mode, keeping frozen stages and (opt.) BN in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward_stages(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and the stages ``layer1..``; returns the last one's map."""
        x = self.relu(self.norm1(self.conv1(x)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x

    def stage_outputs(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """The map of each stage of ``out_stage_names``, in turn."""
        x = self.relu(self.norm1(self.conv1(x)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
            yield x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The maps of the stages ``out_indices``; by default
        ``(feature_map,)``, for ResNet32 ``(N, 64, H/4, W/4)``."""
        outs = []
        for i, out in enumerate(self.stage_outputs(x)):
            if i in self.out_indices:
                outs.append(out)
            if i == max(self.out_indices):
                break  # the later stages are not needed
        return tuple(outs)


@MODELS.register_module()
class BBNResNet32(ResNet32):
    """ResNet-32 of BBN, used by TDE and xERM on CIFAR; 128-d output.

    :class:`ResNet32` with 5/5/4 blocks, then two parallel 64-channel blocks
    whose maps are concatenated (stage 4 for ``frozen_stages``).

    Args:
        in_channels (int): Input image channels. Defaults to 3.
        stage_blocks (Sequence[int]): Defaults to ``(5, 5, 4)``.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        **kwargs: The other arguments of :class:`ResNet32`.
    """

    out_stage_names = ('layer1', 'layer2', 'layer3', 'branches')

    def __init__(self,
                 in_channels: int = 3,
                 stage_blocks: Sequence[int] = (5, 5, 4),
                 norm_cfg: dict = dict(type='BN'),
                 **kwargs):
        super().__init__(
            in_channels=in_channels,
            stage_blocks=stage_blocks,
            norm_cfg=norm_cfg,
            **kwargs)
        c = self.out_channels
        self.branch1 = _make_block(c, c, 1, norm_cfg)
        self.branch2 = _make_block(c, c, 1, norm_cfg)
        self.out_channels = 2 * c
        self._freeze_stages()

    def _stages_for_freezing(self) -> List[List[nn.Module]]:
        stages = super()._stages_for_freezing()
        if hasattr(self, 'branch2'):  # called by ResNet32.__init__ too
            stages.append([self.branch1, self.branch2])
        return stages

    def stage_outputs(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """``layer1..3``, then the two branches' maps concatenated:
        ``(N, 128, H/4, W/4)``."""
        for x in super().stage_outputs(x):
            yield x
        yield torch.cat([self.branch1(x), self.branch2(x)], dim=1)
