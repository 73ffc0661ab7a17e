"""A classification data preprocessor that augments raw pixels first."""
from typing import Callable, List, Sequence, Union

import torch
from mmpretrain.models import ClsDataPreprocessor

from xerm_mm.registry import BATCH_AUGMENTS, MODELS


@MODELS.register_module()
class PixelAugClsDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's ``ClsDataPreprocessor`` with augments before normalising.

    In training, the batch is stacked and moved to the device, then every
    transform of ``pixel_augments`` runs on the raw pixel tensor (the uint8
    or float values the dataset gives, before the BGR-to-RGB swap and the
    normalisation), called as ``aug(inputs, data_samples) -> (inputs,
    data_samples)``. Then ``ClsDataPreprocessor`` goes on as usual. In
    evaluation (``training=False``) it is ``ClsDataPreprocessor``.

    mmpretrain's own ``batch_augments`` (Mixup, CutMix) still run after the
    normalisation; ``pixel_augments`` are for transforms whose padding or
    clipping is defined in pixel space, such as
    :class:`RandomPadCropFlip`.

    Args:
        pixel_augments (dict | callable | list, optional): One transform or
            a list of them: configs built from ``xerm_mm``'s
            ``BATCH_AUGMENTS`` or callables. Defaults to None (none).
        **kwargs: The arguments of ``ClsDataPreprocessor``.
    """

    def __init__(self,
                 pixel_augments: Union[dict, Callable, Sequence, None] = None,
                 **kwargs):
        super().__init__(**kwargs)
        if pixel_augments is None:
            pixel_augments = []
        elif isinstance(pixel_augments, dict) or callable(pixel_augments):
            pixel_augments = [pixel_augments]
        self.pixel_augments: List[Callable] = []
        for aug in pixel_augments:
            if isinstance(aug, dict):
                aug = BATCH_AUGMENTS.build(aug)
            if not callable(aug):
                raise TypeError('PixelAugClsDataPreprocessor: each of '
                                'pixel_augments must be a config dict or a '
                                f'callable, got {type(aug).__name__}')
            self.pixel_augments.append(aug)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Run ``pixel_augments`` (training only), then normalise etc.

        Args:
            data (dict): A batch from the dataloader.
            training (bool): Whether to augment. Defaults to False.

        Returns:
            dict: ``inputs`` and ``data_samples``, as ``ClsDataPreprocessor``
            gives them.
        """
        if training and self.pixel_augments:
            data = dict(data)
            inputs = self.cast_data(self._stack(data['inputs']))
            data_samples = data.get('data_samples')
            for aug in self.pixel_augments:
                inputs, data_samples = aug(inputs, data_samples)
            data['inputs'] = inputs
            data['data_samples'] = data_samples
        return super().forward(data, training)

    @staticmethod
    def _stack(inputs) -> torch.Tensor:
        # pseudo_collate (MMEngine's default) gives a list of (C, H, W).
        if isinstance(inputs, torch.Tensor):
            return inputs
        shapes = {tuple(img.shape) for img in inputs}
        if len(shapes) != 1:
            raise ValueError('PixelAugClsDataPreprocessor: pixel_augments '
                             'need images of one shape in a batch, got '
                             f'{sorted(shapes)}; resize them in the '
                             'dataset pipeline')
        return torch.stack(list(inputs))

    def extra_repr(self) -> str:
        return f'pixel_augments={self.pixel_augments!r}'
