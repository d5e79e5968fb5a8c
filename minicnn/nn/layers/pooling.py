"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``.

Pooling has no parameters: each layer stores its window settings and calls
the functional op.  Output size per spatial axis (``f`` window, ``s`` stride,
default ``s = f``, ``p`` padding, ``d`` dilation):

    n_out = floor((n + 2p - d(f-1) - 1) / s) + 1      (ceil with ceil_mode=True)

Adaptive pooling picks the windows so that the output has ``output_size``.
"""
from __future__ import annotations

from .. import functional as F
from ..module import Module


class _Pool2d(Module):
    """Window settings shared by max and average pooling; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode


class MaxPool2d(_Pool2d):
    """Maximum over each window.  x: (N, C, H, W) -> (N, C, H_out, W_out).

    With ``return_indices=True`` also returns where each maximum came from
    (what ``MaxUnpool`` and the backward pass use).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = dilation
        self.return_indices = return_indices

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, dilation=self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """Mean over each window.  x: (N, C, H, W) -> (N, C, H_out, W_out).

    ``count_include_pad``: whether padded zeros count in the divisor.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode,
                            count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool2d(Module):
    """Pooling to a fixed ``output_size`` (an int, or ``(H_out, W_out)``; None keeps that axis)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """Mean over adaptive windows.  x: (N, C, H, W) -> (N, C, *output_size).

    ``AdaptiveAvgPool2d(1)`` is global average pooling.
    """

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """Maximum over adaptive windows.  x: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, return_indices=self.return_indices)
