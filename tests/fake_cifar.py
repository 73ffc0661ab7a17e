"""Tiny CIFAR folders in the official pickle layout, for tests."""
import os
import os.path as osp
import pickle

import numpy as np


def write_fake_cifar10(root: str,
                       train_per_class: int = 20,
                       test_per_class: int = 8,
                       seed: int = 0) -> str:
    """Write ``root/cifar-10-batches-py`` with random images; return root.

    Labels cycle through the 10 classes, so every class has exactly
    ``train_per_class`` training and ``test_per_class`` test images.
    """
    rng = np.random.RandomState(seed)
    folder = osp.join(root, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)

    def dump(name, entry):
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(entry, f)

    def batch(n):
        labels = [i % 10 for i in range(n)]
        data = rng.randint(0, 256, (n, 3072), dtype=np.uint8)
        return dict(data=data, labels=labels)

    train = batch(10 * train_per_class)
    chunks = np.array_split(np.arange(10 * train_per_class), 5)
    for i, idx in enumerate(chunks, start=1):
        dump(f'data_batch_{i}',
             dict(data=train['data'][idx],
                  labels=[train['labels'][j] for j in idx]))
    dump('test_batch', batch(10 * test_per_class))
    dump('batches.meta',
         dict(label_names=[f'class{i}' for i in range(10)]))
    return root
