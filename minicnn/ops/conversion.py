"""Moving a tensor between dtypes and devices, differentiably.

A cast or a device move does not change values (up to rounding), so the
gradient of each is the inverse move: cast the gradient back to the input's
dtype, or copy it back to the input's device.
"""
from __future__ import annotations

from ..autograd.function import Function
from .. import backend


class Cast(Function):
    """y = x as ``dtype``;  dL/dx = g cast back to x's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.in_dtype) if self.in_dtype.kind == "f" else None


class ToDevice(Function):
    """y = x copied to ``device``;  dL/dx = g copied back to x's device."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.in_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return backend.to_device(g, self.in_device)


class Clone(Function):
    """y = a copy of x;  dL/dx = g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def cast(x, dtype):
    """x as ``dtype`` (no op, and no copy, when it already has it)."""
    dtype = backend.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return Cast.apply(x, dtype=dtype)


def to_device(x, device):
    """x on ``device`` (the same tensor when it is already there)."""
    device = backend.as_device(device)
    if x.device == device:
        return x
    return ToDevice.apply(x, device=device)


def clone(x):
    """A copy of x that stays in the graph."""
    return Clone.apply(x)
