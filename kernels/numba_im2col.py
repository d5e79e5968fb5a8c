"""``im2col`` / ``col2im`` in Numba: the same layout and signatures as ``im2col.py``.

The reference copies one strided slice of the whole batch per kernel offset:
NumPy walks the batch ``prod(kernel)`` times and pads the input first.  The
compiled version walks every (sample, channel) plane once, writes each row of
the column matrix in order and checks the padding with index arithmetic
instead of a padded copy::

    for (n, c):                                # independent planes
        for every kernel offset (a, b, e):     # row = (c, a, b, e)
            for every output position (i, j, k):
                cols[n, row, (i, j, k)] = x[n, c, i*s + a*d - p, ...]   (0 outside)

``col2im`` runs the same loops with ``+=`` in the other direction.

Serial on purpose: with ``parallel=True`` (``prange`` over the planes) every
call paid about 10 ms of thread start-up on the 2-core benchmark machine, more
than the whole kernel takes at LeNet-5 sizes, and won nothing at ResNet sizes,
where the copy is bound by memory bandwidth (see docs/kernels.md).

1-d and 2-d arrays run the 3-d loops with leading axes of length 1 (kernel 1,
stride 1, no padding), so one compiled loop nest serves every dimension.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .shapes import output_shape


def as_3d(spatial, *per_axis):
    """Prepend unit axes so that 1-d and 2-d geometry reads as 3-d.

    ``spatial`` gets leading 1s; each tuple in ``per_axis`` is (kernel, stride,
    padding, dilation)-like and gets its neutral value (1, 1, 0, 1)."""
    lead = 3 - len(spatial)
    neutral = (1, 1, 0, 1)
    return ((1,) * lead + tuple(spatial),) + tuple(
        (neutral[i],) * lead + tuple(values) for i, values in enumerate(per_axis)
    )


@njit(cache=True, inline="always")
def valid_range(n_out, size, offset, stride):
    """Outputs ``o`` in ``[0, n_out)`` whose tap ``o * stride + offset`` lies in ``[0, size)``."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if size - 1 - offset < 0 else min(n_out, (size - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


@njit(cache=True)
def _im2col_3d(x, cols, kernel, stride, padding, dilation, out):
    N, C, D, H, W = x.shape
    kd, kh, kw = kernel
    od, oh, ow = out
    for n in range(N):
        for c in range(C):
            plane = x[n, c]
            row = c * kd * kh * kw
            for a in range(kd):
                i_lo, i_hi = valid_range(od, D, a * dilation[0] - padding[0], stride[0])
                for b in range(kh):
                    j_lo, j_hi = valid_range(oh, H, b * dilation[1] - padding[1], stride[1])
                    for e in range(kw):
                        k_lo, k_hi = valid_range(ow, W, e * dilation[2] - padding[2], stride[2])
                        start = e * dilation[2] - padding[2]  # input column of output column 0
                        target = cols[n, row]
                        for i in range(od):
                            z = i * stride[0] + a * dilation[0] - padding[0]
                            for j in range(oh):
                                base = (i * oh + j) * ow
                                if i < i_lo or i >= i_hi or j < j_lo or j >= j_hi:
                                    target[base : base + ow] = 0  # this row of windows is in the padding
                                    continue
                                source = plane[z, j * stride[1] + b * dilation[1] - padding[1]]
                                target[base : base + k_lo] = 0
                                if stride[2] == 1:  # a contiguous run: copied as a block
                                    target[base + k_lo : base + k_hi] = source[k_lo + start : k_hi + start]
                                else:
                                    for k in range(k_lo, k_hi):
                                        target[base + k] = source[k * stride[2] + start]
                                target[base + k_hi : base + ow] = 0
                        row += 1


@njit(cache=True)
def _col2im_3d(cols, x, kernel, stride, padding, dilation, out):
    N, C, D, H, W = x.shape
    kd, kh, kw = kernel
    od, oh, ow = out
    for n in range(N):
        for c in range(C):
            plane = x[n, c]
            row = c * kd * kh * kw
            for a in range(kd):
                for b in range(kh):
                    for e in range(kw):
                        source = cols[n, row]
                        start = e * dilation[2] - padding[2]
                        i_lo, i_hi = valid_range(od, D, a * dilation[0] - padding[0], stride[0])
                        j_lo, j_hi = valid_range(oh, H, b * dilation[1] - padding[1], stride[1])
                        k_lo, k_hi = valid_range(ow, W, e * dilation[2] - padding[2], stride[2])
                        for i in range(i_lo, i_hi):
                            z = i * stride[0] + a * dilation[0] - padding[0]
                            for j in range(j_lo, j_hi):
                                y = j * stride[1] + b * dilation[1] - padding[1]
                                base = (i * oh + j) * ow
                                for k in range(k_lo, k_hi):
                                    plane[z, y, k * stride[2] + start] += source[base + k]
                        row += 1


def im2col(x, kernel_size, stride, padding, dilation):
    """``x: (N, C, *in) -> cols: (N, C * prod(kernel_size), prod(out))`` (layout of ``im2col.py``)."""
    N, C, *spatial = x.shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation)
    cols = np.empty((N, C * math.prod(kernel_size), math.prod(out)), dtype=x.dtype)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    x3 = np.ascontiguousarray(x).reshape(N, C, *spatial3)
    _im2col_3d(x3, cols, kernel3, stride3, padding3, dilation3, as_3d(out)[0])
    return cols


def col2im(cols, x_shape, kernel_size, stride, padding, dilation):
    """``cols: (N, C * prod(kernel_size), prod(out)) -> (N, C, *in)``, summing overlaps."""
    N, C, *spatial = x_shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    x = np.zeros((N, C, *spatial3), dtype=cols.dtype)
    _col2im_3d(np.ascontiguousarray(cols), x, kernel3, stride3, padding3, dilation3, as_3d(out)[0])
    return x.reshape(x_shape)
