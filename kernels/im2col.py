"""``im2col`` / ``col2im``: convolution as one matrix product (reference implementation).

The idea, on one channel of a 3x3 image and a 2x2 kernel (stride 1, no padding)::

    x = | a b c |     w = | p q |     y[i, j] = sum_{u,v} w[u, v] x[i + u, j + v]
        | d e f |         | r s |
        | g h i |

Copy every 2x2 window of ``x`` into one column of a matrix ("image to
columns"); the rows of that matrix are the kernel offsets (u, v)::

    cols = | a b d e |   offset (0, 0)       the 4 columns are the output
           | b c e f |   offset (0, 1)       positions (0,0) (0,1) (1,0) (1,1)
           | d e g h |   offset (1, 0)
           | e f h i |   offset (1, 1)

Then ``y = [p q r s] @ cols``, a (1, 4) row that reshapes to the 2x2 output.
With C input channels the rows run over (channel, offset) pairs, and F filters
make ``W`` an (F, C*kh*kw) matrix: the whole convolution is ``W @ cols``.

``col2im`` is the adjoint (the transpose) of ``im2col``: it sends every entry of
a column matrix back to the pixel it was copied from, *adding* where windows
overlap (``e`` above sits in four columns, so it receives the sum of four
entries).  Convolution's backward uses it: ``dx = col2im(W^T @ dy)``.

Column layout (shared by every implementation of these kernels)::

    x:    (N, C, *in)                        in  = (H, W) for 2-d, (L,) or (D, H, W)
    cols: (N, C * prod(kernel), prod(out))   row index = (c, k_1, .., k_d) in C order,
                                             column index = (o_1, .., o_d) in C order

so that ``cols.reshape(N, C, *kernel, *out)[n, c, *k, *o]`` is
``x_padded[n, c, *(o * stride + k * dilation)]``.  Per sample, ``W @ cols[n]``
is (F, prod(out)): the output comes out in NCHW order with no transpose.

Signatures (tuples have one entry per spatial axis; padding is symmetric)::

    im2col(x, kernel_size, stride, padding, dilation, out=None) -> cols
    col2im(cols, x_shape, kernel_size, stride, padding, dilation, out=None) -> array of x_shape

``out``, when given, is a C-contiguous array of the result's shape and dtype
that receives the result (and is returned): the convolution passes a buffer
it reuses chunk after chunk (``workspace.scratch``).

How the reference walks the windows: one Python iteration per kernel offset
(the kh*kw taps of the window, 9 for a 3x3 kernel), each copying a strided
slice of the whole batch at once: for offset (u, v) the entries of every window
are ``x[:, :, u*d : u*d + s*(H_out-1) + 1 : s, v*d : ... : s]``.  A slice per
offset needs no index arrays, and in ``col2im`` one offset never touches a
pixel twice, so ``+=`` on the slice is exact (no scatter-add needed).
"""
from __future__ import annotations

import itertools
import math

from ..backend import get_array_module
from .registry import register
from .shapes import output_shape


def pad_spatial(x, before, after, value=0):
    """Pad the trailing ``len(before)`` axes of ``x`` with ``value``
    (``before[i]`` elements at the start of axis i, ``after[i]`` at its end)."""
    if not any(before) and not any(after):
        return x
    xp = get_array_module(x)
    lead = x.ndim - len(before)
    widths = [(0, 0)] * lead + list(zip(before, after))
    return xp.pad(x, widths, mode="constant", constant_values=value)


def crop_spatial(x, before, size):
    """The inverse of ``pad_spatial``: keep ``size[i]`` elements of each trailing
    axis, starting at ``before[i]`` (a contiguous copy when anything is cut)."""
    if not any(before) and tuple(x.shape[x.ndim - len(size) :]) == tuple(size):
        return x
    interior = tuple(slice(b, b + n) for b, n in zip(before, size))
    return get_array_module(x).ascontiguousarray(x[(Ellipsis, *interior)])


def _window_slices(offset, stride, dilation, out):
    """Slices that pick, for one kernel offset, that tap of every window."""
    return tuple(
        slice(k * d, k * d + s * (o - 1) + 1, s) for k, s, d, o in zip(offset, stride, dilation, out)
    )


def sliding_windows(x_padded, kernel_size, stride, dilation, out):
    """All windows of an already padded array, as a new array.

    ``x_padded: (*lead, *padded) -> (*lead, *kernel_size, *out)`` with
    ``result[..., *k, *o] = x_padded[..., *(o * stride + k * dilation)]``.
    """
    xp = get_array_module(x_padded)
    d = len(kernel_size)
    lead = x_padded.shape[: x_padded.ndim - d]
    windows = xp.empty((*lead, *kernel_size, *out), dtype=x_padded.dtype)
    every_output = (slice(None),) * d
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        # windows[..., u, v, :, :] = x_padded[..., u*d::s, v*d::s] (cut to the output size)
        windows[(Ellipsis, *offset, *every_output)] = x_padded[
            (Ellipsis, *_window_slices(offset, stride, dilation, out))
        ]
    return windows


def add_windows(windows, padded_shape, stride, dilation):
    """The adjoint of ``sliding_windows``: add every window entry back into a
    zero array of ``padded_shape`` at the position it was read from."""
    xp = get_array_module(windows)
    d = windows.ndim - len(padded_shape)  # windows has one kernel axis per spatial axis
    kernel_size, out = windows.shape[-2 * d : -d], windows.shape[-d:]
    total = xp.zeros(padded_shape, dtype=windows.dtype)
    every_output = (slice(None),) * d
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        total[(Ellipsis, *_window_slices(offset, stride, dilation, out))] += windows[
            (Ellipsis, *offset, *every_output)
        ]
    return total


def into(result, out):
    """``result``, or a copy of it in ``out`` when that is given (the ``out=`` argument)."""
    if out is None:
        return result
    out[...] = result
    return out


@register("im2col", "reference")
def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """``x: (N, C, *in) -> cols: (N, C * prod(kernel_size), prod(out))`` (layout above)."""
    N, C, *spatial = x.shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    x_padded = pad_spatial(x, padding, padding)
    windows = sliding_windows(x_padded, kernel_size, stride, dilation, positions)  # (N, C, *k, *out)
    return into(windows.reshape(N, C * math.prod(kernel_size), math.prod(positions)), out)


@register("im2strips", "reference")
def im2strips(x, kernel_size, padding, dilation, out=None):
    """``x: (N, C, H, W) -> strips: (N, C * kw, (H + 2*ph) * W_out)``: for a 2-d convolution
    with stride 1, the input as each column of taps e sees it, with all its padded rows::

        strips[n, (c, e), (r, j)] = x_pad[n, c, r, j + e*dw]      r < H + 2ph, j < W_out

    The columns of im2col are windows of these: the rows (c, b, e) of ``cols``
    are ``strips[:, (c, e), b*dh*W_out : b*dh*W_out + L]``, so a convolution can
    multiply by kh windows of a matrix kh times smaller than the columns
    (``minicnn/ops/conv.py``)."""
    N, C, H, W = x.shape
    kw, dw = kernel_size[1], dilation[1]
    ow = output_shape((W,), (kw,), (1,), (padding[1],), (dw,))[0]
    x_padded = pad_spatial(x, padding, padding)  # (N, C, H + 2ph, W + 2pw)
    strips = get_array_module(x).stack([x_padded[..., e * dw: e * dw + ow] for e in range(kw)], axis=2)
    return into(strips.reshape(N, C * kw, -1), out)  # (N, C, kw, H + 2ph, W_out) -> rows (c, e)


@register("col2im", "reference")
def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out=None):
    """``cols: (N, C * prod(kernel_size), prod(out)) -> (N, C, *in)``, summing overlaps."""
    N, C, *spatial = x_shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    windows = cols.reshape(N, C, *kernel_size, *positions)
    padded_shape = (N, C, *(n + 2 * p for n, p in zip(spatial, padding)))
    total = add_windows(windows, padded_shape, stride, dilation)
    return into(crop_spatial(total, padding, spatial), out)
