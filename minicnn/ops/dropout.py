"""Dropout (Srivastava et al., 2014): zero each unit with probability p in training.

Inverted scaling.  The kept units are multiplied by 1 / (1 - p), so that the
expected value of every unit is unchanged:  E[y] = (1 - p) * x / (1 - p) = x.
Evaluation then needs nothing at all: the layer is the identity, and the
network seen at test time matches, on average, the ones trained.

``dropout2d`` drops whole channels (one coin per (n, c) feature map): the
neighbouring pixels of a feature map are strongly correlated, so dropping
single pixels hardly regularises a convolutional layer.

The coins come from ``backend.generator(device)``, so ``minicnn.manual_seed``
makes a run reproducible.
"""
from __future__ import annotations

from .. import backend
from ..autograd.function import Function

__all__ = ["dropout", "dropout2d"]


class Dropout(Function):
    """y = x * mask,  mask = [u >= p] / (1 - p) with u ~ U[0, 1);  dL/dx = g * mask.

    ``mask_shape`` is x's shape for plain dropout and (N, C, 1, ...) for
    channel dropout (the mask broadcasts over the spatial axes).
    """

    def __init__(self, p, mask_shape):
        self.p, self.mask_shape = p, mask_shape

    def forward(self, x):
        rng = backend.generator(backend.device_of(x))
        coin_dtype = x.dtype if x.dtype == backend.float64 else backend.float32
        keep = rng.random(self.mask_shape, dtype=coin_dtype) >= self.p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        self.mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got p={p}")


def dropout(x, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p);
    the identity when not ``training`` or p = 0.  (``inplace`` is accepted for
    PyTorch compatibility; the result is always a new tensor.)"""
    _check_p(p, "dropout")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=p, mask_shape=x.shape)


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Zero whole channels of x: (N, C, H, W) with probability p, scale the rest by 1/(1-p).

    A 3-d input is read as (N, C, L), one coin per channel, which is what
    PyTorch does today (it warns that this may change).
    """
    _check_p(p, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W), got {tuple(x.shape)}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=p, mask_shape=x.shape[:2] + (1,) * (x.ndim - 2))
