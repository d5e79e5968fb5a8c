"""Max and average pooling, forward and backward (reference implementation, N-d).

Pooling slides a window over every channel separately, like a convolution
with no weights, and keeps one number per window: the largest (max pooling)
or the mean (average pooling).  On the course's 4x4 example with a 2x2
window and stride 2::

    | 4 3 1 5 |
    | 1 3 4 8 |   max  -> | 4 8 |      average -> | 2.75 4.5 |
    | 4 5 4 3 |           | 6 9 |                 | 5.0  5.0 |
    | 6 5 9 4 |

The windows are gathered as in ``im2col`` (``sliding_windows``: one strided
slice per kernel offset), then reduced over the kernel axes.

Backward.  Max pooling passes each output's gradient to the one input element
that won its window (``indices``), adding where overlapping windows picked the
same element.  Average pooling spreads each output's gradient evenly, ``g /
divisor`` to every element of its window (``add_windows``, the adjoint of the
gathering).

Conventions (shared by every implementation of these kernels)::

    x:       (N, C, *in)          in = (L,), (H, W) or (D, H, W)
    out:     (N, C, *out)         out from ``shapes.output_shape`` (ceil_mode as PyTorch)
    indices: (N, C, *out) int64   flat position of the maximum in its (n, c) plane
                                  of x, ``h * W + w`` in 2-d (PyTorch's convention);
                                  -1 for a window wholly in the padding (output -inf)

    max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode) -> (out, indices)
    max_pool_backward(grad_out, indices, x_shape) -> grad_x
    avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad) -> out
    avg_pool_backward(grad_out, x_shape, kernel_size, stride, padding, ceil_mode,
                      count_include_pad) -> grad_x

Padding.  Max pooling pads with -inf, so padding never wins a window.  Average
pooling pads with zeros and divides by the window's size: with
``count_include_pad=True`` the padding counts (but not the part of a
``ceil_mode`` window that hangs past the padding, as in PyTorch), with
``False`` only the real input elements count.
"""
from __future__ import annotations

import math

from ..backend import get_array_module, scatter_add
from .im2col import add_windows, crop_spatial, pad_spatial, sliding_windows
from .registry import register
from .shapes import output_shape


def _right_padding(spatial, kernel_size, stride, padding, dilation, out):
    """Padding at the end of each axis: ``padding``, or more when a ``ceil_mode``
    window reaches past it (that window then sees padding only at its end)."""
    return tuple(
        max(p, (o - 1) * s + d * (f - 1) + 1 - n - p)
        for n, f, s, p, d, o in zip(spatial, kernel_size, stride, padding, dilation, out)
    )


def _lowest(xp, dtype):
    """The value that loses every max: -inf for floats, the minimum for integers."""
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


@register("max_pool_forward", "reference")
def max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Maximum of every window, and where it was: ``(out, indices)`` (see the module docstring)."""
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation, ceil_mode)
    after = _right_padding(spatial, kernel_size, stride, padding, dilation, out)
    K, L = math.prod(kernel_size), math.prod(out)

    x_padded = pad_spatial(x, padding, after, value=_lowest(xp, x.dtype))
    windows = sliding_windows(x_padded, kernel_size, stride, dilation, out).reshape(N, C, K, L)
    values = windows.max(axis=2)  # (N, C, L); a NaN in a window is its maximum

    # Which tap of each window holds the maximum: the first one equal to it
    # (or NaN).  ``windows.argmax(axis=2)`` says the same, but walking K taps per
    # output in NumPy's inner loop it takes twice as long as these K passes.
    is_max = (windows == values[:, :, None, :]) | (windows != windows)
    winner = xp.zeros((N, C, L), dtype=xp.min_scalar_type(K - 1))
    for k in reversed(range(K)):  # the last assignment is the first tap: ties go to it
        winner = xp.where(is_max[:, :, k], k, winner)

    # Where is tap k of window l in x?  Slide the same windows over a map of
    # flat positions (-1 in the padding) and read the winners' positions off it.
    positions = xp.arange(math.prod(spatial), dtype=xp.int64).reshape(spatial)
    positions = pad_spatial(positions, padding, after, value=-1)
    position_windows = sliding_windows(positions, kernel_size, stride, dilation, out).reshape(K, L)
    indices = position_windows[winner, xp.arange(L)]  # (N, C, L)

    shape = (N, C, *out)
    return values.reshape(shape), indices.reshape(shape)


@register("max_pool_backward", "reference")
def max_pool_backward(grad_out, indices, x_shape):
    """``grad_x[n, c, indices[n, c, o]] += grad_out[n, c, o]`` for every output ``o``."""
    xp = get_array_module(grad_out)
    N, C, *spatial = x_shape
    plane = math.prod(spatial)
    # A window lying wholly in the padding (possible with dilation) has no
    # winner: its output is -inf, its index -1, and it passes no gradient.
    grad_out = grad_out * (indices >= 0)
    # one flat index into grad_x per output: plane number * plane size + position
    flat = xp.maximum(indices, 0).reshape(N * C, -1) + (xp.arange(N * C, dtype=xp.int64) * plane)[:, None]
    grad_x = xp.zeros(N * C * plane, dtype=grad_out.dtype)
    scatter_add(grad_x, flat.ravel(), grad_out.ravel())
    return grad_x.reshape(x_shape)


def _avg_divisor(xp, spatial, kernel_size, stride, padding, out, count_include_pad, dtype):
    """How many elements each output's mean is taken over, an array of shape ``out``.

    Along one axis, window ``o`` covers ``[o*s - p, o*s - p + f)``, cut at the end
    of the right padding; without ``count_include_pad`` it is also cut to the
    input ``[0, n)``.  The window is a box, so its size is the product over axes.
    """
    d = len(spatial)
    divisor = xp.ones(out, dtype=dtype)
    for axis, (n, f, s, p, o) in enumerate(zip(spatial, kernel_size, stride, padding, out)):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + f, n + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        along = [1] * d
        along[axis] = o
        divisor = divisor * (end - start).reshape(along).astype(dtype)
    return divisor


@register("avg_pool_forward", "reference")
def avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Mean of every window: sum of the zero-padded window / ``_avg_divisor``."""
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    d = len(spatial)
    no_dilation = (1,) * d
    out = output_shape(spatial, kernel_size, stride, padding, no_dilation, ceil_mode)
    after = _right_padding(spatial, kernel_size, stride, padding, no_dilation, out)

    windows = sliding_windows(pad_spatial(x, padding, after), kernel_size, stride, no_dilation, out)
    total = windows.sum(axis=tuple(range(2, 2 + d)))  # (N, C, *out)
    divisor = _avg_divisor(xp, spatial, kernel_size, stride, padding, out, count_include_pad, x.dtype)
    return total / divisor


@register("avg_pool_backward", "reference")
def avg_pool_backward(grad_out, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Every element of window ``o`` receives ``grad_out[o] / divisor[o]`` (summed over windows)."""
    xp = get_array_module(grad_out)
    N, C, *spatial = x_shape
    d = len(spatial)
    no_dilation = (1,) * d
    out = output_shape(spatial, kernel_size, stride, padding, no_dilation, ceil_mode)
    after = _right_padding(spatial, kernel_size, stride, padding, no_dilation, out)

    divisor = _avg_divisor(xp, spatial, kernel_size, stride, padding, out, count_include_pad, grad_out.dtype)
    share = (grad_out / divisor).reshape(N, C, *(1,) * d, *out)
    windows = xp.broadcast_to(share, (N, C, *kernel_size, *out))  # the same share for every tap
    padded_shape = (N, C, *(n + p + a for n, p, a in zip(spatial, padding, after)))
    total = add_windows(windows, padded_shape, stride, no_dilation)
    return crop_spatial(total, padding, spatial)
