"""Dropout layers: ``Dropout`` (single units) and ``Dropout2d`` (whole channels).

During training each unit (or channel) is zeroed with probability ``p`` and the
survivors are scaled by ``1 / (1 - p)`` ("inverted dropout"), so that nothing
changes at evaluation time, where the layer is the identity.
"""
from __future__ import annotations

from .. import functional as F
from ..module import Module


class _DropoutNd(Module):
    """Holds ``p``; ``inplace`` is accepted for PyTorch compatibility (minicnn always
    computes a new tensor, which gives the same values and is safe for autograd)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` while training.  x: any shape -> same shape."""

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels with probability ``p`` while training.  x: (N, C, H, W) -> same shape."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)
