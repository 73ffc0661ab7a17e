"""A frozen teacher's forward with BatchNorm folded into the convolutions.

A teacher runs in eval mode only, where BatchNorm is a fixed per-channel
affine map; folded into the preceding convolution's weight and bias it costs
nothing, where on the CPU it takes about a sixth of the teacher's forward
(torch.profiler, BBN ResNet-32). The folding is done on a traced COPY of the
backbone (``torch.fx.experimental.optimization.fuse``, which folds a Conv-BN
pair only where the BN is the convolution's sole consumer), so the teacher's
own modules, and the checkpoint they were loaded from, stay as they are. The
copy gives the same features to float32 rounding.
"""
import logging
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch.fx.experimental.optimization import fuse


def fold_batchnorm(backbone: nn.Module) -> nn.Module:
    """A copy of an eval-mode ``backbone`` with its Conv-BN pairs folded.

    Args:
        backbone (nn.Module): The module to copy; left unchanged.

    Returns:
        nn.Module: The folded copy, or ``backbone`` itself when it cannot be
        traced by ``torch.fx`` (a warning says so; results are the same).
    """
    try:
        return fuse(backbone.eval(), inplace=False)
    except Exception as error:  # tracing fails on data-dependent control
        print_log(
            f'XERMClassifier: the teacher backbone '
            f'{type(backbone).__name__} cannot be traced by torch.fx '
            f'({type(error).__name__}: {error}); it runs without BatchNorm '
            'folding (same results, a little slower)',
            logger='current',
            level=logging.WARNING)
        return backbone


def _state_key(module: nn.Module) -> Tuple:
    """Changes whenever a tensor of ``module`` is replaced, moved, cast or
    written in place (``load_state_dict``, ``.to()``, ``copy_``)."""
    return tuple((t.data_ptr(), t._version, t.dtype)
                 for t in module.state_dict(keep_vars=True).values())


class FoldedTeachers:
    """Folded backbone copies of teachers, rebuilt when a teacher changes.

    Not an ``nn.Module``: the copies are derived data, never saved and never
    seen by optimizers or DDP.
    """

    def __init__(self) -> None:
        self._cache: Dict[int, Tuple[Tuple, nn.Module]] = {}

    def extract_feat(self, teacher: nn.Module,
                     inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """``teacher.extract_feat(inputs)`` through the folded backbone.

        Teachers that are not backbone (+ neck) classifiers, and forwards
        traced by ``torch.compile`` (whose compiler folds by itself), use
        the teacher's own ``extract_feat``.
        """
        if (torch.compiler.is_compiling()
                or not isinstance(getattr(teacher, 'backbone', None),
                                  nn.Module)
                or not hasattr(teacher, 'with_neck')):
            return teacher.extract_feat(inputs)
        backbone = self._folded(teacher.backbone)
        feats = backbone(inputs)
        return teacher.neck(feats) if teacher.with_neck else feats

    def _folded(self, backbone: nn.Module) -> nn.Module:
        key = _state_key(backbone)
        cached = self._cache.get(id(backbone))
        if cached is None or cached[0] != key:
            cached = (key, fold_batchnorm(backbone))
            self._cache[id(backbone)] = cached
        return cached[1]
