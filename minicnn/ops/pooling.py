"""Pooling: max and average pooling (1-, 2-, 3-d) and their adaptive versions.

Pooling slides a window over each channel separately and keeps one number per
window; it has no parameters.  The course's example, f = 2 and s = 2::

    | 4 3 1 5 |
    | 1 3 4 8 |   max_pool2d -> | 4 8 |      avg_pool2d -> | 2.75 4.5 |
    | 4 5 4 3 |                 | 6 9 |                    | 5.0  5.0 |
    | 6 5 9 4 |

Output size per spatial axis, as for convolution (``kernels/shapes.py``)::

    n_out = floor((n + 2p - d(f - 1) - 1) / s) + 1     (ceil with ceil_mode=True)

and the stride defaults to the kernel size (windows side by side).

Backward.  ``y = max(window)`` depends only on the winning element, so
dL/dx is ``g`` at the winner and 0 elsewhere (summed where overlapping windows
share a winner).  ``y = mean(window)`` depends on each element with weight
1/divisor, so every element of the window receives ``g / divisor``.  The array
work is in the pooling kernels (``kernels/pooling.py``).

Adaptive pooling fixes the output size instead of the window: along an axis of
length n with ``out`` outputs, bin i covers the elements
``[floor(i n / out), ceil((i + 1) n / out))`` (PyTorch's bins; they overlap
when out does not divide n).  ``adaptive_avg_pool2d(x, 1)`` is the global
average pooling at the end of ResNet and GoogLeNet.
"""
from __future__ import annotations

import math

from .. import kernels
from ..autograd.function import Function
from ..backend import get_array_module
from ..kernels.shapes import output_shape
from .conv import _batched, _check_input, _check_output, _positive, _tuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
]


# ------------------------------------------------------------------ max pooling
class MaxPoolNd(Function):
    """y = max of each window;  dL/dx[winner] += g (the winners are the ``indices``).

    Shapes: x (N, C, *in) -> y (N, C, *out) and indices (N, C, *out), the flat
    position of each maximum within its (n, c) plane of x (PyTorch's convention).
    """

    def __init__(self, kernel_size, stride, padding, dilation, ceil_mode):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x):
        y, self.indices = kernels.get("max_pool_forward", x)(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        self.x_shape = x.shape
        return y, self.indices

    def backward(self, g, g_indices=None):
        return kernels.get("max_pool_backward", g)(g, self.indices, self.x_shape)


# -------------------------------------------------------------- average pooling
class AvgPoolNd(Function):
    """y = sum of each zero-padded window / divisor;  dL/dx = g / divisor to each element of the window.

    The divisor is the window size f_1 * f_2 * ...; with ``count_include_pad=False``
    only the window's elements inside the input count.  x (N, C, *in) -> y (N, C, *out).
    """

    def __init__(self, kernel_size, stride, padding, ceil_mode, count_include_pad):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        self.x_shape = x.shape
        return kernels.get("avg_pool_forward", x)(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def backward(self, g):
        return kernels.get("avg_pool_backward", g)(
            g, self.x_shape, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad,
        )


# ------------------------------------------------------------- adaptive pooling
def _bins(n, out):
    """PyTorch's adaptive bins along one axis: lists of starts and (exclusive) ends."""
    starts = [(i * n) // out for i in range(out)]
    ends = [-(-(i + 1) * n // out) for i in range(out)]  # ceil((i + 1) n / out)
    return starts, ends


def _averaging_matrix(xp, n, out, dtype):
    """A: (out, n) with A[i, j] = 1 / len(bin i) for j in bin i, else 0.

    Averaging a box is separable, so the adaptive average of x is A_H · x · A_W^T
    in 2-d: one small matrix product per spatial axis.
    """
    starts, ends = _bins(n, out)
    starts, ends = xp.asarray(starts)[:, None], xp.asarray(ends)[:, None]
    j = xp.arange(n)[None, :]
    inside = (j >= starts) & (j < ends)
    return (inside / (ends - starts)).astype(dtype)


def _along(matrix, x, axis):
    """Contract ``x``'s ``axis`` with the columns of ``matrix``: (out, n) · x -> axis of length out."""
    xp = get_array_module(x)
    return xp.matmul(matrix, x.swapaxes(axis, -2)).swapaxes(axis, -2)


class AdaptiveAvgPoolNd(Function):
    """y = A_1 · x · A_2^T ... (one averaging matrix per spatial axis; see ``_averaging_matrix``);
    dL/dx = A_1^T · g · A_2 ....  x (N, C, *in) -> y (N, C, *out).

    ``out = (1, 1)`` is the global average pooling, taken as a plain mean:
    y = mean of x over the spatial axes, dL/dx = g / (H W) everywhere.
    """

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = x.shape
        spatial_axes = tuple(range(2, x.ndim))
        if all(o == 1 for o in self.output_size):
            return x.mean(axis=spatial_axes, keepdims=True)
        self.matrices = [_averaging_matrix(xp, n, o, x.dtype) for n, o in zip(x.shape[2:], self.output_size)]
        y = x
        for axis, A in zip(spatial_axes, self.matrices):
            y = _along(A, y, axis)  # (N, C, ..., out_axis, ...)
        return xp.ascontiguousarray(y)

    def backward(self, g):
        xp = get_array_module(g)
        if all(o == 1 for o in self.output_size):
            dx = xp.empty(self.x_shape, dtype=g.dtype)
            dx[...] = g / math.prod(self.x_shape[2:])  # every element had the same weight
            return dx
        for axis, A in zip(range(2, g.ndim), self.matrices):
            g = _along(A.T, g, axis)
        return xp.ascontiguousarray(g)


class AdaptiveMaxPoolNd(Function):
    """y = max over each adaptive bin;  dL/dx[winner] += g (as ``MaxPoolNd``).

    The bins may differ in length, so they are gathered into windows of the
    longest length, the shorter ones repeating their last element (which
    cannot change a maximum, nor which element comes first among equals).  x (N, C, *in) -> y, indices (N, C, *out).
    """

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = get_array_module(x)
        N, C, *spatial = x.shape
        out, d = self.output_size, len(spatial)
        self.x_shape = x.shape
        if all(o == 1 for o in out):  # global: one window, the whole plane
            windows = x.reshape(N, C, 1, -1)  # (N, C, L=1, K)
            positions = xp.arange(math.prod(spatial)).reshape(1, -1)  # (L, K)
        else:
            # index arrays: taps[i][o, k] = position along axis i of tap k of bin o,
            # shaped to broadcast as (o_1, k_1, o_2, k_2, ...)
            index = []
            for axis, (n, o) in enumerate(zip(spatial, out)):
                starts, ends = _bins(n, o)
                longest = max(e - s for s, e in zip(starts, ends))
                starts, ends = xp.asarray(starts)[:, None], xp.asarray(ends)[:, None]
                taps = xp.minimum(starts + xp.arange(longest), ends - 1)  # (o, longest)
                shape = [1] * (2 * d)
                shape[2 * axis : 2 * axis + 2] = taps.shape
                index.append(taps.reshape(shape))
            windows = x[(slice(None), slice(None), *index)]  # (N, C, o_1, k_1, o_2, k_2, ...)
            strides = [math.prod(spatial[i + 1 :]) for i in range(d)]
            positions = sum(taps * stride for taps, stride in zip(index, strides))  # flat position of each tap
            bins_first = (*range(0, 2 * d, 2), *range(1, 2 * d, 2))  # (o_1, o_2, .., k_1, k_2, ..)
            windows = windows.transpose(0, 1, *(2 + a for a in bins_first)).reshape(N, C, math.prod(out), -1)
            positions = positions.transpose(bins_first).reshape(math.prod(out), -1)
        winner = windows.argmax(axis=-1)  # (N, C, L)
        y = xp.take_along_axis(windows, winner[..., None], axis=-1)[..., 0]
        self.indices = positions[xp.arange(positions.shape[0]), winner].reshape(N, C, *out)
        return y.reshape(N, C, *out), self.indices

    def backward(self, g, g_indices=None):
        return kernels.get("max_pool_backward", g)(g, self.indices, self.x_shape)


# ------------------------------------------------------------ argument checking
def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, d, op):
    """Tuples of kernel size, stride (default: the kernel size), padding and
    dilation, checked the way PyTorch checks them."""
    kernel = _positive(_tuple(kernel_size, d, "kernel_size", op), "kernel_size", op)
    stride = kernel if stride is None else _positive(_tuple(stride, d, "stride", op), "stride", op)
    padding = _positive(_tuple(padding, d, "padding", op), "padding", op, minimum=0)
    dilation = _positive(_tuple(dilation, d, "dilation", op), "dilation", op)
    if any(2 * p > f for p, f in zip(padding, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half of the kernel size, got padding={padding} "
            f"and kernel_size={kernel}"
        )
    out = output_shape(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    _check_output(out, x.shape[2:], kernel, padding, dilation, op)
    return kernel, stride, padding, dilation


def _adaptive_size(x, output_size, d, op):
    """``output_size``: an int or a tuple of ints, None meaning "as the input"."""
    sizes = (output_size,) * d if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(sizes) != d:
        raise TypeError(f"{op}: output_size must be an int or a tuple of {d}, got {output_size!r}")
    sizes = tuple(n if o is None else o for o, n in zip(sizes, x.shape[2:]))
    return _positive(_tuple(sizes, d, "output_size", op), "output_size", op)


# ------------------------------------------------------------- public functions
def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, d, op):
    _check_input(x, d, op)
    if x.ndim == d + 1:
        return _batched(_max_pool, x, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, d, op)
    kernel, stride, padding, dilation = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, d, op)
    y, indices = MaxPoolNd.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    return (y, indices) if return_indices else y


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, d, op):
    _check_input(x, d, op)
    if x.ndim == d + 1:
        return _batched(_avg_pool, x, kernel_size, stride, padding, ceil_mode, count_include_pad, d, op)
    kernel, stride, padding, _ = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, d, op)
    return AvgPoolNd.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )


def _adaptive_pool(function, x, output_size, d, op):
    _check_input(x, d, op)
    if x.ndim == d + 1:
        return _batched(_adaptive_pool, x, function, output_size, d, op)
    return function.apply(x, output_size=_adaptive_size(x, output_size, d, op))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling: x (N, C, L) -> (N, C, L_out); arguments as in ``max_pool2d``."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-d max pooling: x (N, C, H, W) -> (N, C, H_out, W_out).

    ``n_out = floor((n + 2p - d(f - 1) - 1) / s) + 1`` (ceil with ``ceil_mode``,
    the last window starting inside the input or the left padding).  ``stride``
    defaults to ``kernel_size``; padding (at most half the kernel) is -inf, so it
    never wins.  With ``return_indices`` also returns the flat position
    ``h * W + w`` of every maximum in its plane.
    """
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-d max pooling: x (N, C, D, H, W) -> (N, C, D_out, H_out, W_out); as ``max_pool2d``."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-d average pooling: x (N, C, L) -> (N, C, L_out); arguments as in ``avg_pool2d``."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, 1, "avg_pool1d")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """2-d average pooling: x (N, C, H, W) -> (N, C, H_out, W_out), sizes as in ``max_pool2d``.

    Padding is zeros; ``count_include_pad`` says whether they count in the
    divisor (True: every window divides by kh*kw, except the part of a
    ``ceil_mode`` window past the padding; False: only real elements count).
    """
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, 2, "avg_pool2d")


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """3-d average pooling: x (N, C, D, H, W) -> (N, C, D_out, H_out, W_out); as ``avg_pool2d``."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, 3, "avg_pool3d")


def adaptive_avg_pool1d(x, output_size):
    """x (N, C, L) -> (N, C, output_size): the mean of each adaptive bin."""
    return _adaptive_pool(AdaptiveAvgPoolNd, x, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(x, output_size):
    """x (N, C, H, W) -> (N, C, *output_size): the mean of each adaptive bin.

    ``output_size``: an int, a pair, or a pair with None (keep that axis).
    ``output_size=1`` is global average pooling.
    """
    return _adaptive_pool(AdaptiveAvgPoolNd, x, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(x, output_size):
    """x (N, C, D, H, W) -> (N, C, *output_size): the mean of each adaptive bin."""
    return _adaptive_pool(AdaptiveAvgPoolNd, x, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max(x, output_size, return_indices, d, op):
    result = _adaptive_pool(AdaptiveMaxPoolNd, x, output_size, d, op)
    return result if return_indices else result[0]


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """x (N, C, L) -> (N, C, output_size): the maximum of each adaptive bin."""
    return _adaptive_max(x, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """x (N, C, H, W) -> (N, C, *output_size): the maximum of each adaptive bin
    (with ``return_indices``, also the flat position ``h * W + w`` of each)."""
    return _adaptive_max(x, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(x, output_size, return_indices=False):
    """x (N, C, D, H, W) -> (N, C, *output_size): the maximum of each adaptive bin."""
    return _adaptive_max(x, output_size, return_indices, 3, "adaptive_max_pool3d")
