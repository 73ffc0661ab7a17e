"""Whole uint8 batches from an in-memory image dataset (the fast path).

See docs/configs.md, "Fast path".
"""
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.datasets.transforms import PackInputs

from xerm_mm.registry import FUNCTIONS

__all__ = ['BatchFetchMixin', 'FetchedBatch', 'collate_fetched_batch']

COLLATE_HINT = ("collate_fn=dict(type='xerm_mm.collate_fetched_batch') in "
                'the dataloader config')


class FetchedBatch(dict):
    """A batch from ``__getitems__``: ``inputs`` and ``data_samples``; only
    :func:`collate_fetched_batch` reads it (others get an error saying so).
    """

    def __missing__(self, key):
        raise TypeError(
            'a dataset with batch_fetch=True hands the DataLoader whole '
            f'batches, which this collate function cannot read (it asked for '
            f'item {key!r}): set {COLLATE_HINT}')

    def __len__(self) -> int:
        return len(self['data_samples'])


@FUNCTIONS.register_module()
def collate_fetched_batch(data_batch, _scope_: Optional[str] = None) -> dict:
    """Collate for datasets that may hand out whole batches.

    A :class:`FetchedBatch` is already a batch: returned as a plain dict.
    Anything else (a list of samples, e.g. from a dataset without
    ``batch_fetch`` or a dataset wrapper) goes to MMEngine's
    ``pseudo_collate``, so the function can stand in every dataloader.

    Args:
        data_batch: What the DataLoader fetched.
        _scope_ (str, optional): Ignored. MMEngine's Runner passes the
            config's ``_scope_`` key on to the collate function when the
            dataloader config came from another package's base config.

    Returns:
        dict: ``inputs`` and ``data_samples``.
    """
    if isinstance(data_batch, FetchedBatch):
        return dict(data_batch)
    return pseudo_collate(data_batch)


class BatchFetchMixin:
    """``batch_fetch=True``: whole uint8 batches for the DataLoader.

    Mixed in before an mmpretrain ``BaseDataset`` whose data infos hold a
    decoded ``img`` of one shape and whose pipeline is ``[PackInputs]``; the
    dataset calls :meth:`_init_batch_fetch` first in its ``__init__``.
    ``dataset[i]`` still runs the pipeline.
    """

    def _init_batch_fetch(self, batch_fetch: bool) -> None:
        if not isinstance(batch_fetch, bool):
            raise TypeError(f'{type(self).__name__}: batch_fetch must be True '
                            f'or False, got {batch_fetch!r}')
        self.batch_fetch = batch_fetch
        self._batch_images: Optional[np.ndarray] = None

    @property
    def batch_images(self) -> Optional[np.ndarray]:
        """The stacked ``(N, C, H, W)`` uint8 images (``batch_fetch=True``,
        after ``full_init``), else None."""
        return self._batch_images

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        if self.batch_fetch:
            self._pack = self._packing_transform()
        super().full_init()
        if self.batch_fetch:
            self._stack_images()

    def _packing_transform(self) -> PackInputs:
        transforms = list(self.pipeline.transforms)
        if len(transforms) != 1 or not isinstance(transforms[0], PackInputs) \
                or transforms[0].input_key != 'img':
            raise ValueError(
                f'{type(self).__name__}: batch_fetch=True hands out whole '
                'batches without a per-sample pipeline, so the pipeline must '
                "be [dict(type='PackInputs')], but it is "
                f'{[type(t).__name__ for t in transforms]}. Augment the '
                'batch in the data preprocessor instead (data_preprocessor='
                "dict(type='xerm_mm.PixelAugClsDataPreprocessor', "
                "pixel_augments=[dict(type='xerm_mm.RandomPadCropFlip')]), "
                'as the *-fast.py configs do), or set batch_fetch=False.')
        return transforms[0]

    def _stack_images(self) -> None:
        infos, images = [], []
        for i in range(len(self)):
            info = dict(self.get_data_info(i))
            images.append(info.pop('img'))
            infos.append(info)
        shapes = {(img.shape, img.dtype) for img in images}
        if len(shapes) > 1 or (images and images[0].ndim != 3):
            raise ValueError(
                f'{type(self).__name__}: batch_fetch=True needs images of '
                f'one shape (H, W, C) and dtype, got {sorted(map(str, shapes))}')
        if images:
            self._batch_images = np.ascontiguousarray(
                np.stack(images).transpose(0, 3, 1, 2))
        else:
            self._batch_images = np.empty((0, 3, 0, 0), dtype=np.uint8)
        self._batch_infos: List[dict] = infos

    def __getitems__(self, indices: Sequence[int]):
        """The samples ``indices``: a :class:`FetchedBatch` with
        ``batch_fetch``, else a list of ``dataset[i]``."""
        if not self.batch_fetch:
            return [self[i] for i in indices]
        if not self._fully_initialized:
            self.full_init()
        index = np.asarray(indices, dtype=np.int64)
        samples = [
            self._pack.transform(dict(self._batch_infos[i]))['data_samples']
            for i in index.tolist()
        ]
        # numpy's gather: torch's uint8 index_select is ~1000x slower on CPU.
        return FetchedBatch(inputs=torch.from_numpy(self._batch_images[index]),
                            data_samples=samples)
