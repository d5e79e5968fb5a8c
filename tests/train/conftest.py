"""A small synthetic task for the Trainer tests: 3 classes of 6x6 images, a tiny CNN."""
import numpy as np
import pytest

import minicnn as mc
from minicnn import nn


def make_task(n=96, seed=0):
    """Class k: a bright horizontal bar in rows 2k..2k+1, plus noise.  x: (n, 1, 6, 6) float32, y: (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 1, 6, 6)).astype(np.float32)
    for k in range(3):
        x[y == k, 0, 2 * k:2 * k + 2, :] += 1.0
    return x, y.astype(np.int64)


class SeededLoader:
    """Batches of Tensors whose order is a function of (seed, epoch) only, as a resumable loader must be."""

    def __init__(self, x, y, batch_size=16, seed=0, shuffle=True):
        self.x, self.y, self.batch_size, self.seed, self.shuffle = x, y, batch_size, seed, shuffle
        self.epoch = 0
        self.dataset = x

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)
        self.epoch += 1
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            yield mc.tensor(self.x[idx]), mc.tensor(self.y[idx])


def tiny_cnn(dropout=0.2):
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Dropout(dropout), nn.Linear(64, 3))


@pytest.fixture
def task():
    x, y = make_task(96, seed=0)
    xv, yv = make_task(48, seed=1)
    return SeededLoader(x, y), SeededLoader(xv, yv, batch_size=24, shuffle=False)
