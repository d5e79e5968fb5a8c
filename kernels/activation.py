"""The ReLU kernels (reference implementation)::

    relu_forward(x)     -> y  = max(x, 0)                       (NaN stays NaN)
    relu_backward(g, y) -> dx = g * [y > 0]                      (y: the forward's output)

The backward needs only the output: ``y > 0`` exactly where ``x > 0``.  As a
product, a NaN or infinite gradient behind a zero output stays NaN (PyTorch's
``threshold_backward`` selects 0 there), so a non-finite gradient is never
hidden by a ReLU.
"""
from __future__ import annotations

from ..backend import get_array_module
from .registry import register


@register("relu_forward", "reference")
def relu_forward(x):
    """y = max(x, 0) elementwise."""
    return get_array_module(x).maximum(x, 0)


@register("relu_backward", "reference")
def relu_backward(g, y):
    """dL/dx = g * [y > 0]."""
    return g * (y > 0)
