"""RIDE's multi-expert CIFAR ResNet-32 (Wang et al., ICLR 2021)."""
from typing import Iterator, List, Optional, Sequence

import torch
import torch.nn as nn

from xerm_mm.registry import MODELS
from .resnet32 import _DEFAULT_INIT, ResNet32, _make_stage


@MODELS.register_module()
class RIDEResNet32(ResNet32):
    """ResNet-32 with a shared stem and stage 1, and one stage 2 + 3 per expert.

    The experts' last maps are concatenated along the channels (expert ``k``
    in channels ``[48k, 48(k + 1))``); :class:`~xerm_mm.models.heads.RIDEHead`
    splits them again (docs/methods.md, "RIDE and xERM over it").

    Args:
        num_experts (int): Number of experts, >= 1. Defaults to 2.
        in_channels (int): Input image channels. Defaults to 3.
        stage_blocks (Sequence[int]): Basic blocks of stages 1, 2, 3.
            Defaults to ``(5, 5, 5)``.
        expert_channels (Sequence[int]): Widths of an expert's stages 2 and
            3. Defaults to ``(24, 48)``.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): As :class:`ResNet32`'s (Kaiming for
            convs, weight 1 / bias 0 for BN).
        **kwargs: ``out_indices``, ``frozen_stages``, ``norm_eval`` of
            :class:`ResNet32`.
    """

    stage_channels = (16, )
    stage_strides = (1, )
    out_stage_names = ('layer1', 'expert_layer2', 'expert_layer3')

    def __init__(self,
                 num_experts: int = 2,
                 in_channels: int = 3,
                 stage_blocks: Sequence[int] = (5, 5, 5),
                 expert_channels: Sequence[int] = (24, 48),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = _DEFAULT_INIT,
                 **kwargs):
        if isinstance(num_experts, bool) or not isinstance(
                num_experts, int) or num_experts < 1:
            raise ValueError(f'num_experts must be an int >= 1, got '
                             f'{num_experts!r}')
        if len(stage_blocks) != 3 or len(expert_channels) != 2:
            raise ValueError(
                'stage_blocks needs 3 entries (stages 1, 2, 3) and '
                'expert_channels 2 (an expert\'s stages 2, 3); got '
                f'{tuple(stage_blocks)} and {tuple(expert_channels)}')
        super().__init__(
            in_channels=in_channels,
            stage_blocks=tuple(stage_blocks[:1]),
            norm_cfg=norm_cfg,
            init_cfg=init_cfg,
            **kwargs)
        self.num_experts = num_experts
        c2, c3 = expert_channels
        shared = self.out_channels
        self.expert_layer2 = nn.ModuleList(
            _make_stage(shared, c2, stage_blocks[1], 2, norm_cfg)
            for _ in range(num_experts))
        self.expert_layer3 = nn.ModuleList(
            _make_stage(c2, c3, stage_blocks[2], 2, norm_cfg)
            for _ in range(num_experts))
        self.expert_channels = c3
        self.out_channels = num_experts * c3
        self._freeze_stages()

    def _stages_for_freezing(self) -> List[List[nn.Module]]:
        stages = super()._stages_for_freezing()
        if hasattr(self, 'expert_layer3'):  # called by ResNet32.__init__ too
            stages += [[self.expert_layer2], [self.expert_layer3]]
        return stages

    def stage_outputs(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """``layer1``, then the experts' stage-2 and stage-3 maps, each
        concatenated on dim 1 (expert ``k`` in channels
        ``[c k, c (k + 1))``)."""
        x = self.forward_stages(x)
        yield x
        maps = [layer2(x) for layer2 in self.expert_layer2]
        yield torch.cat(maps, dim=1)
        yield torch.cat(
            [layer3(m) for layer3, m in zip(self.expert_layer3, maps)], dim=1)
