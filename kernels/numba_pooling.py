"""Max and average pooling in Numba: the signatures and conventions of ``pooling.py``.

The reference gathers every window into a new array (``prod(kernel)`` strided
copies of a padded input) and reduces it.  The compiled loops read each
window in place and keep a running maximum (with its position) or sum, so
nothing is padded or gathered.  They run one row of outputs at a time, tap by
tap (the row layout of ``numba_im2col``, whose docstring says why)::

    for every plane p, every output row (i, j), every tap (a, b, e) inside the input:
        for every output k of the row whose tap is inside (lo <= k < hi):
            v = x[p, tap of output k]
            if v beats best[k] (greater, or NaN, which propagates):  best[k], where[k] = v, position

Taps are visited in the reference's (C) order and only a strictly greater
value replaces the best, so ties go to the first tap, as in ``argmax``.  Taps
in the padding (-inf in the reference, so they never win) are skipped by
index arithmetic (``column_taps``), so the same loops serve ``ceil_mode``
windows that hang over the end.  (One corner differs: a window whose real
inputs are all -inf reports its first real tap where the reference may report
a padding tap, -1; the value, -inf, is the same.)  Backward adds each
output's gradient into its winner (max) or, divided by the window's divisor,
into every tap of its window (average).

The 2x2, stride-2 tiling of LeNet-5 and VGG has its own loops with the four
taps written out (``_max_pool_2x2``, ...): LLVM vectorises those, and the
general loops, whose window size is known only at run time, run 5-10x slower
on it.  1-d and 2-d otherwise run as 3-d with leading unit axes, like
``numba_im2col``.  Serial, for the reason given there.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .numba_im2col import as_3d, column_taps
from .pooling import _avg_divisor
from .shapes import output_shape


@njit(cache=True, boundscheck=False, inline="always")
def _max_into(best, where, o, plane, w, lo, hi, stride):
    """Outputs ``o + k`` for k in [lo, hi) against their taps ``plane[w + (k - lo)*stride]``:
    where the tap wins, ``best`` takes its value and ``where`` its position.
    The first maximum wins, NaN propagates, and the first real tap replaces
    the ``-inf, -1`` a row starts with.  Flat 1-d arrays and offsets: no view
    is made per row."""
    o, w, lo = max(o, 0), max(w, 0), max(lo, 0)  # never negative; saying so drops Numba's wraparound test
    for k in range(hi - lo):
        q, r = w + k * stride, o + lo + k
        v, b = plane[q], best[r]
        if (not v <= b and b == b) or where[r] < 0:  # v > b, or v is NaN (unless b already is)
            best[r], where[r] = v, q


@njit(cache=True, boundscheck=False)
def _max_pool_3d(x, values, indices, shape, out, kernel, stride, padding, dilation):
    """x: (P, D*H*W) planes; values, indices: (P, od*oh*ow), filled one row of ow outputs at a time."""
    D, H, W = shape
    od, oh, ow = out
    s = stride[2]
    columns = column_taps(ow, W, kernel[2], s, padding[2], dilation[2])
    for p in range(x.shape[0]):
        plane, best, where = x[p], values[p], indices[p]
        best[:] = -np.inf
        where[:] = -1
        o = 0  # first output of the current row
        for i in range(od):
            for j in range(oh):
                for a in range(kernel[0]):
                    z = i * stride[0] + a * dilation[0] - padding[0]
                    if z < 0 or z >= D:
                        continue  # a tap in the padding never wins
                    for b in range(kernel[1]):
                        y = j * stride[1] + b * dilation[1] - padding[1]
                        if y < 0 or y >= H:
                            continue
                        for e in range(kernel[2]):
                            w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
                            w += (z * H + y) * W
                            # the same call three times: a constant stride lets LLVM vectorise the loop
                            if s == 1:
                                _max_into(best, where, o, plane, w, lo, hi, 1)
                            elif s == 2:
                                _max_into(best, where, o, plane, w, lo, hi, 2)
                            else:
                                _max_into(best, where, o, plane, w, lo, hi, s)
                o += ow


@njit(cache=True)
def _max_pool_backward(grad_out, indices, grad_x):
    # grad_out, indices: (planes, outputs); grad_x: (planes, plane size)
    for p in range(grad_out.shape[0]):
        for o in range(grad_out.shape[1]):
            where = indices[p, o]
            if where >= 0:
                grad_x[p, where] += grad_out[p, o]


@njit(cache=True, boundscheck=False, inline="always")
def _gather_add(total, o, plane, w, lo, hi, stride):
    """``total[o + k] += plane[w + (k - lo)*stride]`` for k in [lo, hi)."""
    o, w, lo = max(o, 0), max(w, 0), max(lo, 0)  # never negative; saying so drops Numba's wraparound test
    for k in range(hi - lo):
        total[o + lo + k] += plane[w + k * stride]


@njit(cache=True, boundscheck=False, inline="always")
def _scatter_add(plane, w, share, o, lo, hi, stride):
    """``plane[w + (k - lo)*stride] += share[o + k]`` for k in [lo, hi): the adjoint of ``_gather_add``."""
    o, w, lo = max(o, 0), max(w, 0), max(lo, 0)
    for k in range(hi - lo):
        plane[w + k * stride] += share[o + lo + k]


@njit(cache=True, boundscheck=False)
def _avg_pool_3d(inputs, outputs, divisor, shape, kernel, stride, padding, forward):
    """``inputs`` (P, D*H*W) and ``outputs`` (P, od*oh*ow) planes, ``divisor`` (od, oh, ow);
    window o covers the taps of ``inputs`` inside it (padding contributes zeros).
    Forward:  ``outputs[o] = sum(inputs[window o]) / divisor[o]``.
    Backward: ``inputs[window o] += outputs[o] / divisor[o]`` (inputs starts at 0)."""
    D, H, W = shape
    od, oh, ow = divisor.shape
    divisor = divisor.ravel()
    s = stride[2]
    columns = column_taps(ow, W, kernel[2], s, padding[2], 1)
    share = np.empty(divisor.shape[0], dtype=outputs.dtype)  # backward: gradient / divisor
    for p in range(inputs.shape[0]):
        plane, total = inputs[p], outputs[p]
        if forward:
            total[:] = 0
        else:
            for o in range(share.shape[0]):
                share[o] = total[o] / divisor[o]
        o = 0  # first output of the current row
        for i in range(od):
            for j in range(oh):
                for z in range(max(0, i * stride[0] - padding[0]), min(D, i * stride[0] - padding[0] + kernel[0])):
                    for y in range(max(0, j * stride[1] - padding[1]), min(H, j * stride[1] - padding[1] + kernel[1])):
                        for e in range(kernel[2]):
                            w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
                            w += (z * H + y) * W
                            if forward and s == 1:  # a constant stride lets LLVM vectorise
                                _gather_add(total, o, plane, w, lo, hi, 1)
                            elif forward and s == 2:
                                _gather_add(total, o, plane, w, lo, hi, 2)
                            elif forward:
                                _gather_add(total, o, plane, w, lo, hi, s)
                            elif s == 1:
                                _scatter_add(plane, w, share, o, lo, hi, 1)
                            elif s == 2:
                                _scatter_add(plane, w, share, o, lo, hi, 2)
                            else:
                                _scatter_add(plane, w, share, o, lo, hi, s)
                o += ow
        if forward:
            for o in range(divisor.shape[0]):
                total[o] /= divisor[o]


# ---------------------------------------------------------------- 2x2, stride 2
# The pooling of almost every CNN (LeNet-5, VGG, ...) has 2x2 windows with
# stride 2 that tile the input.  With the four taps written out, LLVM turns
# the loops into vector code; the general loops above cannot unroll a window
# whose size is only known at run time, and run 5-10x slower on it.


def _tiles_2x2(spatial, kernel_size, stride, padding, dilation, out):
    """Whether the windows are 2x2 tiles (stride 2, no padding or dilation) inside the input."""
    return (len(spatial) == 2 and tuple(kernel_size) == (2, 2) and tuple(stride) == (2, 2)
            and not any(padding) and tuple(dilation) == (1, 1)
            and all(2 * o <= n for o, n in zip(out, spatial)))


@njit(cache=True, boundscheck=False)
def _max_pool_2x2(x, values, indices):
    """x: (P, H, W); values, indices: (P, oh, ow), window (i, j) = x[p, 2i:2i+2, 2j:2j+2]."""
    P, H, W = x.shape
    oh, ow = values.shape[1:]
    for p in range(P):
        for i in range(oh):
            for j in range(ow):
                best, where = -np.inf, -1
                for y in range(2 * i, 2 * i + 2):
                    for w in range(2 * j, 2 * j + 2):
                        v = x[p, y, w]
                        # first maximum wins, NaN propagates; selects rather than branches
                        take = (v > best) | (where < 0) | ((v != v) & (best == best))
                        best = v if take else best
                        where = y * W + w if take else where
                values[p, i, j], indices[p, i, j] = best, where


@njit(cache=True, boundscheck=False)
def _max_pool_2x2_gathered(x, values, indices):
    """``_max_pool_2x2`` for narrow outputs (ow < 16): one loop over all oh*ow windows of a
    plane, each reading its four taps at precomputed offsets (vector gathers), instead of
    rows too short for a vector (LeNet-5's 14 outputs per row: 0.39 instead of 0.83 ms)."""
    P, H, W = x.shape
    oh, ow = values.shape[1:]
    n = oh * ow
    corner = np.empty(n, np.int64)  # the flat position of each window's first tap
    for i in range(oh):
        for j in range(ow):
            corner[i * ow + j] = 2 * i * W + 2 * j
    planes, best_of, where_of = x.reshape(P, H * W), values.reshape(P, n), indices.reshape(P, n)
    for p in range(P):
        plane = planes[p]
        for o in range(n):
            first = corner[o]
            best, where = plane[first], first
            for tap in (first + 1, first + W, first + W + 1):  # first maximum wins, NaN propagates
                v = plane[tap]
                take = (v > best) | ((v != v) & (best == best))
                best = v if take else best
                where = tap if take else where
            best_of[p, o], where_of[p, o] = best, where


@njit(cache=True, boundscheck=False)
def _avg_pool_2x2(x, out):
    P = x.shape[0]
    oh, ow = out.shape[1:]
    for p in range(P):
        for i in range(oh):
            for j in range(ow):
                y, w = 2 * i, 2 * j
                out[p, i, j] = (x[p, y, w] + x[p, y, w + 1] + x[p, y + 1, w] + x[p, y + 1, w + 1]) / 4


@njit(cache=True, boundscheck=False)
def _avg_pool_2x2_backward(grad_out, grad_x):
    P = grad_out.shape[0]
    oh, ow = grad_out.shape[1:]
    for p in range(P):
        for i in range(oh):
            for j in range(ow):
                share = grad_out[p, i, j] / 4
                y, w = 2 * i, 2 * j
                grad_x[p, y, w] = grad_x[p, y, w + 1] = grad_x[p, y + 1, w] = grad_x[p, y + 1, w + 1] = share


def max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Maximum of every window and its flat position in the plane: ``(out, indices)``."""
    N, C, *spatial = x.shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation, ceil_mode)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    out3 = as_3d(out)[0]
    values = np.empty((N * C, math.prod(out)), dtype=x.dtype)
    indices = np.empty((N * C, math.prod(out)), dtype=np.int64)
    if _tiles_2x2(spatial, kernel_size, stride, padding, dilation, out):
        pool = _max_pool_2x2 if out[1] >= 16 else _max_pool_2x2_gathered  # rows long enough for vectors
        pool(np.ascontiguousarray(x).reshape(N * C, *spatial), values.reshape(N * C, *out),
             indices.reshape(N * C, *out))
        return values.reshape(N, C, *out), indices.reshape(N, C, *out)
    _max_pool_3d(np.ascontiguousarray(x).reshape(N * C, -1), values, indices,
                 spatial3, out3, kernel3, stride3, padding3, dilation3)
    return values.reshape(N, C, *out), indices.reshape(N, C, *out)


def max_pool_backward(grad_out, indices, x_shape):
    """``grad_x[n, c, indices[n, c, o]] += grad_out[n, c, o]`` for every output ``o``."""
    N, C = x_shape[:2]
    grad_x = np.zeros((N * C, math.prod(x_shape[2:])), dtype=grad_out.dtype)
    _max_pool_backward(np.ascontiguousarray(grad_out).reshape(N * C, -1),
                       np.ascontiguousarray(indices).reshape(N * C, -1), grad_x)
    return grad_x.reshape(x_shape)


def _avg_geometry(x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, dtype):
    """Output size and divisor (as in the reference), with everything lifted to 3-d."""
    spatial = x_shape[2:]
    no_dilation = (1,) * len(spatial)
    out = output_shape(spatial, kernel_size, stride, padding, no_dilation, ceil_mode)
    divisor = _avg_divisor(np, spatial, kernel_size, stride, padding, out, count_include_pad, dtype)
    spatial3, kernel3, stride3, padding3 = as_3d(spatial, kernel_size, stride, padding)
    return out, divisor.reshape(as_3d(out)[0]), spatial3, kernel3, stride3, padding3


def avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Mean of every window: the sum of its taps inside the input / the reference's divisor."""
    N, C = x.shape[:2]
    out, divisor, spatial3, kernel3, stride3, padding3 = _avg_geometry(
        x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, x.dtype)
    result = np.empty((N * C, divisor.size), dtype=x.dtype)
    if _tiles_2x2(x.shape[2:], kernel_size, stride, padding, (1,) * len(out), out):
        _avg_pool_2x2(np.ascontiguousarray(x).reshape(N * C, *x.shape[2:]), result.reshape(N * C, *out))
        return result.reshape(N, C, *out)
    planes = np.ascontiguousarray(x).reshape(N * C, -1)
    _avg_pool_3d(planes, result, divisor, spatial3, kernel3, stride3, padding3, True)
    return result.reshape(N, C, *out)


def avg_pool_backward(grad_out, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Every tap of window ``o`` receives ``grad_out[o] / divisor[o]``."""
    N, C = x_shape[:2]
    out, divisor, spatial3, kernel3, stride3, padding3 = _avg_geometry(
        x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, grad_out.dtype)
    grad_x = np.zeros((N * C, math.prod(spatial3)), dtype=grad_out.dtype)
    if _tiles_2x2(x_shape[2:], kernel_size, stride, padding, (1,) * len(out), out):
        _avg_pool_2x2_backward(np.ascontiguousarray(grad_out).reshape(N * C, *out),
                               grad_x.reshape(N * C, *x_shape[2:]))
        return grad_x.reshape(x_shape)
    planes = np.ascontiguousarray(grad_out).reshape(N * C, -1)
    _avg_pool_3d(grad_x, planes, divisor, spatial3, kernel3, stride3, padding3, False)
    return grad_x.reshape(x_shape)
