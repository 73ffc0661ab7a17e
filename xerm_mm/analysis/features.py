"""Penultimate features of a model on a dataset, and their cache file.

The feature of an image is what the head reads: ``model.extract_feat``
(backbone, then neck: the pooled vector of an ImageClassifier with
``GlobalAveragePooling``), its last output flattened. Images go through the
dataset's pipeline and the model's data preprocessor, as in testing.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate

from xerm_mm.utils.atomic import atomic_write

#: Images per forward pass.
BATCH_SIZE = 128


def preprocess(model: nn.Module, dataset,
               indices: Sequence[int]) -> Tuple[torch.Tensor, list]:
    """``(inputs, data_samples)`` of ``dataset[indices]``, preprocessed by
    the model's data preprocessor (normalised, batched; no augmentation)."""
    batch = pseudo_collate([dataset[i] for i in indices])
    data = model.data_preprocessor(batch, False)
    return data['inputs'], data['data_samples']


def pooled_features(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``(N, D)``: the last output of ``model.extract_feat``, flattened."""
    feats = model.extract_feat(inputs)
    if isinstance(feats, (tuple, list)):
        feats = feats[-1]
    return feats.flatten(1)


@torch.no_grad()
def extract_features(model: nn.Module,
                     dataset) -> Tuple[np.ndarray, np.ndarray]:
    """Features and labels of every image of ``dataset``, in its order.

    Returns:
        tuple: ``(N, D)`` float32 features and ``(N,)`` int64 labels.
    """
    model.eval()
    feats, labels = [], []
    for start in range(0, len(dataset), BATCH_SIZE):
        indices = range(start, min(start + BATCH_SIZE, len(dataset)))
        inputs, samples = preprocess(model, dataset, indices)
        feats.append(pooled_features(model, inputs).float().cpu().numpy())
        labels += [int(s.gt_label[0]) for s in samples]
    return np.concatenate(feats), np.asarray(labels, dtype=np.int64)


def source_key(config: str, checkpoint: str, **extra) -> str:
    """What a cached file was computed from: the config and checkpoint paths,
    the checkpoint's size and modification time, and ``extra``."""
    stat = os.stat(checkpoint)
    return json.dumps(
        dict(config=osp.abspath(config), checkpoint=osp.abspath(checkpoint),
             size=stat.st_size, mtime=stat.st_mtime_ns, **extra),
        sort_keys=True)


def load_cached(path: str, source: str) -> Dict[str, np.ndarray]:
    """The arrays of ``path`` if it was written for ``source``, else {}."""
    if not osp.isfile(path):
        return {}
    with np.load(path) as data:
        if str(data['source']) != source:
            return {}
        return {key: data[key] for key in data.files if key != 'source'}


def save_cached(path: str, source: str, **arrays: np.ndarray) -> None:
    """Write ``arrays`` and ``source`` to the ``.npz`` file ``path``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_write(path, 'wb') as f:
        np.savez(f, source=np.asarray(source), **arrays)
