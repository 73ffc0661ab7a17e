"""Class-balanced sampling (Decoupling's cRT and LWS; Kang et al., 2020)."""
from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from xerm_mm.registry import DATA_SAMPLERS


def dataset_labels(dataset: Sized) -> np.ndarray:
    """The class of every sample of ``dataset``, as an int64 array.

    Uses mmpretrain's ``get_gt_labels()`` where the dataset has it, else
    MMEngine's ``get_cat_ids(i)`` (one class per sample).
    """
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64)
    if hasattr(dataset, 'get_cat_ids'):
        ids = [dataset.get_cat_ids(i) for i in range(len(dataset))]
        if all(len(c) == 1 for c in ids):
            return np.asarray([c[0] for c in ids], dtype=np.int64)
    raise TypeError(
        f'ClassBalancedSampler needs the class of every sample, but '
        f'{type(dataset).__name__} has neither get_gt_labels() (mmpretrain '
        'datasets) nor single-label get_cat_ids(i) (MMEngine datasets)')


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(DefaultSampler):
    """Every class equally likely, then a uniform sample of that class.

    The sampling of Decoupling's cRT and LWS stages (docs/methods.md); an epoch
    has ``len(dataset)`` draws, shared across processes as MMEngine's
    ``DefaultSampler`` does.

    Args:
        dataset (Sized): A labelled dataset (see :func:`dataset_labels`).
        seed (int, optional): Seed, identical on all processes; None draws
            one and shares it (``sync_random_seed``). Defaults to None.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None) -> None:
        super().__init__(dataset, shuffle=True, seed=seed, round_up=True)
        labels = dataset_labels(dataset)
        if labels.size == 0:
            raise ValueError('ClassBalancedSampler: the dataset is empty')
        order = np.argsort(labels, kind='stable')
        classes, starts, sizes = np.unique(labels[order],
                                           return_index=True,
                                           return_counts=True)
        self.classes = classes
        self._order = torch.from_numpy(order)
        self._starts = torch.from_numpy(starts)
        self._sizes = torch.from_numpy(sizes)

    def _draw(self) -> torch.Tensor:
        """``total_size`` indices of this epoch (the same on every rank)."""
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        cls = torch.randint(len(self.classes), (self.total_size, ),
                            generator=g)
        offset = (torch.rand(self.total_size, generator=g, dtype=torch.float64)
                  * self._sizes[cls]).long()
        offset = torch.minimum(offset, self._sizes[cls] - 1)
        return self._order[self._starts[cls] + offset]

    def __iter__(self) -> Iterator[int]:
        """This rank's share: every ``world_size``-th draw from ``rank``."""
        return iter(self._draw()[self.rank::self.world_size].tolist())
