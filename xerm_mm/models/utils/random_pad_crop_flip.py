"""CIFAR's pad-and-crop plus horizontal flip, for a whole batch at once."""
import numbers
from typing import Any, Optional, Tuple

import torch

from xerm_mm.registry import BATCH_AUGMENTS


def pad_crop_flip(inputs: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                  flip: torch.Tensor, padding: int,
                  pad_val: numbers.Number) -> torch.Tensor:
    """Pad, crop at given offsets and flip, without a loop over samples.

    Sample ``i`` becomes what mmpretrain's ``RandomCrop(padding=padding,
    pad_val=pad_val)`` makes of it with ``offset_h=top[i]``,
    ``offset_w=left[i]`` (offsets into the padded image), followed by a
    horizontal flip where ``flip[i]``.

    Args:
        inputs (Tensor): Pixel values, shape (N, C, H, W), any dtype.
        top (Tensor): Row offsets in ``[0, 2 * padding]``, shape (N,).
        left (Tensor): Column offsets in ``[0, 2 * padding]``, shape (N,).
        flip (Tensor): Booleans, shape (N,): flip these samples.
        padding (int): Pixels added on each side before cropping.
        pad_val (Number): Value of the added pixels.

    Returns:
        Tensor: Same shape, dtype and device as ``inputs``.
    """
    n, c, h, w = inputs.shape
    padded = inputs.new_full((n, c, h + 2 * padding, w + 2 * padding), pad_val)
    padded[:, :, padding:padding + h, padding:padding + w] = inputs
    device = inputs.device
    rows = top.view(n, 1) + torch.arange(h, device=device)
    cols = left.view(n, 1) + torch.arange(w, device=device)
    cols = torch.where(flip.view(n, 1), cols.flip(1), cols)
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=device).view(1, c, 1, 1)
    return padded[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


@BATCH_AUGMENTS.register_module()
class RandomPadCropFlip:
    """Pad-``padding`` random crop and random horizontal flip of a batch.

    mmpretrain's ``RandomCrop`` + ``RandomFlip`` per sample, on pixel values
    (use it in :class:`PixelAugClsDataPreprocessor`'s ``pixel_augments``);
    draws from torch's generator of the inputs' device.

    Args:
        padding (int): Pixels added on each side. Defaults to 4.
        pad_val (Number): Value of the added pixels, in the inputs' scale.
            Defaults to 0.
        flip_prob (float): Probability of a horizontal flip. Defaults to 0.5.
    """

    def __init__(self,
                 padding: int = 4,
                 pad_val: numbers.Number = 0,
                 flip_prob: float = 0.5):
        if (not isinstance(padding, numbers.Integral)
                or isinstance(padding, bool) or padding < 0):
            raise ValueError('RandomPadCropFlip: padding must be an integer '
                             f'>= 0, got {padding!r}')
        if (not isinstance(pad_val, numbers.Real)
                or isinstance(pad_val, bool)):
            raise TypeError('RandomPadCropFlip: pad_val must be a number '
                            f'(one value for all channels), got {pad_val!r}')
        if (not isinstance(flip_prob, numbers.Real)
                or not 0 <= flip_prob <= 1):
            raise ValueError('RandomPadCropFlip: flip_prob must be a number '
                             f'in [0, 1], got {flip_prob!r}')
        self.padding = int(padding)
        self.pad_val = pad_val
        self.flip_prob = float(flip_prob)

    def draw(self, num: int, device: torch.device) -> Tuple[torch.Tensor, ...]:
        """Draw (top, left, flip) for ``num`` samples on ``device``."""
        span = 2 * self.padding + 1
        top = torch.randint(span, (num, ), device=device)
        left = torch.randint(span, (num, ), device=device)
        flip = torch.rand(num, device=device) < self.flip_prob
        return top, left, flip

    def __call__(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[Any] = None) -> Tuple[torch.Tensor, Any]:
        """Augment ``inputs``; ``data_samples`` pass through unchanged.

        Args:
            inputs (Tensor): Pixel values, shape (N, C, H, W).
            data_samples: Labels or data samples of the batch (not used).

        Returns:
            tuple: The augmented inputs (same shape, dtype, device and pixel
            scale) and ``data_samples``.
        """
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            shape = (tuple(inputs.shape)
                     if isinstance(inputs, torch.Tensor) else type(inputs))
            raise ValueError('RandomPadCropFlip: inputs must be a tensor of '
                             f'shape (N, C, H, W), got {shape}; stack the '
                             'images of the batch first')
        self._check_pad_val(inputs.dtype)
        params = self.draw(inputs.size(0), inputs.device)
        outputs = pad_crop_flip(inputs, *params, self.padding, self.pad_val)
        return outputs, data_samples

    def _check_pad_val(self, dtype: torch.dtype) -> None:
        if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
            return
        info = torch.iinfo(dtype)
        if (self.pad_val != int(self.pad_val)
                or not info.min <= self.pad_val <= info.max):
            raise ValueError(f'RandomPadCropFlip: pad_val {self.pad_val!r} '
                             f'is no {dtype} value; use an integer in '
                             f'[{info.min}, {info.max}]')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(padding={self.padding}, '
                f'pad_val={self.pad_val}, flip_prob={self.flip_prob})')
