"""A classification data preprocessor that augments raw pixels first."""
from typing import Callable, List, Sequence, Union

import torch
from mmpretrain.models import ClsDataPreprocessor

from xerm_mm.registry import BATCH_AUGMENTS, MODELS


@MODELS.register_module()
class PixelAugClsDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's ``ClsDataPreprocessor`` with augments before normalising.

    In training, ``pixel_augments`` run on the raw pixel batch on the device,
    as ``aug(inputs, data_samples) -> (inputs, data_samples)``
    (docs/configs.md, "Augmentation on the device").

    Args:
        pixel_augments (dict | callable | list, optional): One transform or
            a list of them: configs built from ``xerm_mm``'s
            ``BATCH_AUGMENTS`` or callables. Defaults to None (none).
        non_blocking (bool): Copy batches to the device asynchronously
            (MMEngine's ``BaseDataPreprocessor`` option, which mmpretrain's
            ``ClsDataPreprocessor`` does not pass on). Defaults to False.
        **kwargs: The arguments of ``ClsDataPreprocessor``.
    """

    def __init__(self,
                 pixel_augments: Union[dict, Callable, Sequence, None] = None,
                 non_blocking: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self._non_blocking = bool(non_blocking)
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
        data = dict(data)
        if (self._non_blocking and data.get('data_samples')
                and self.device.type != 'cpu'):
            data['data_samples'] = labels_to_device(data['data_samples'],
                                                    self.device,
                                                    self._non_blocking)
        if training and self.pixel_augments:
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


def labels_to_device(data_samples: list, device: torch.device,
                     non_blocking: bool = False) -> list:
    """Move every sample's one-element ``gt_label`` in one copy.

    The samples are changed in place to hold views of one device tensor;
    with ``non_blocking`` the copy is from pinned memory, so it does not
    wait for the device. Samples without a ``gt_label``, or with more than
    one label, are left alone.

    Returns:
        list: ``data_samples``.
    """
    labels = [getattr(s, 'gt_label', None) for s in data_samples]
    if any(label is None or label.numel() != 1 or label.device == device
           for label in labels):
        return data_samples
    labels = torch.cat(labels)
    if non_blocking and device.type == 'cuda':
        labels = labels.pin_memory()
    moved = labels.to(device, non_blocking=non_blocking)
    for i, sample in enumerate(data_samples):
        sample.gt_label = moved[i:i + 1]
    return data_samples
