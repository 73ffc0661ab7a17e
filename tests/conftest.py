import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fake_cifar import write_fake_cifar10  # noqa: E402


@pytest.fixture(scope='session')
def fake_cifar10_root(tmp_path_factory):
    """A tiny CIFAR-10 (20 train / 8 test images per class)."""
    return write_fake_cifar10(str(tmp_path_factory.mktemp('cifar10')))
