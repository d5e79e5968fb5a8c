"""Max and average pooling in Numba: the signatures and conventions of ``pooling.py``.

The reference gathers every window into a new array (``prod(kernel)`` strided
copies of a padded input) and reduces it.  The compiled loops read each
window in place and keep a running maximum (with its position) or sum, so
nothing is padded or gathered::

    for every plane (n, c), every output o:
        best, where = -inf, -1
        for every tap t of window o inside the input, in the reference's (C) order:
            if v = x[n, c, t] > best (or is NaN, which propagates):  best, where = v, t

Taps in the padding (-inf in the reference, so they never win) are skipped by
index arithmetic (``valid_range``), so the same loops serve ``ceil_mode``
windows that hang over the end.  (One corner differs: a window whose real
inputs are all -inf reports its first real tap where the reference may report
a padding tap, -1; the value, -inf, is the same.)  Backward adds
each output's gradient into its winner (max) or, divided by the window's
divisor, into every tap of its window (average).  1-d and 2-d run as 3-d with
leading unit axes, like ``numba_im2col``.  Serial, for the reason given there.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .numba_im2col import as_3d, valid_range
from .pooling import _avg_divisor
from .shapes import output_shape


@njit(cache=True)
def _max_pool_3d(x, values, indices, kernel, stride, padding, dilation):
    N, C, D, H, W = x.shape
    od, oh, ow = values.shape[2:]
    for n in range(N):
        for c in range(C):
            plane = x[n, c]
            for i in range(od):
                # the taps a of this window that fall inside the input (the rest is -inf padding)
                a_lo, a_hi = valid_range(kernel[0], D, i * stride[0] - padding[0], dilation[0])
                for j in range(oh):
                    b_lo, b_hi = valid_range(kernel[1], H, j * stride[1] - padding[1], dilation[1])
                    for k in range(ow):
                        e_lo, e_hi = valid_range(kernel[2], W, k * stride[2] - padding[2], dilation[2])
                        best, where = -np.inf, -1
                        for a in range(a_lo, a_hi):
                            z = i * stride[0] + a * dilation[0] - padding[0]
                            for b in range(b_lo, b_hi):
                                y = j * stride[1] + b * dilation[1] - padding[1]
                                for e in range(e_lo, e_hi):
                                    w = k * stride[2] + e * dilation[2] - padding[2]
                                    v = plane[z, y, w]
                                    if v > best or where < 0 or (v != v and best == best):
                                        best, where = v, (z * H + y) * W + w
                        values[n, c, i, j, k] = best
                        indices[n, c, i, j, k] = where


@njit(cache=True)
def _max_pool_backward(grad_out, indices, grad_x):
    # grad_out, indices: (planes, outputs); grad_x: (planes, plane size)
    for p in range(grad_out.shape[0]):
        for o in range(grad_out.shape[1]):
            where = indices[p, o]
            if where >= 0:
                grad_x[p, where] += grad_out[p, o]


@njit(cache=True)
def _avg_pool_3d(inputs, outputs, divisor, kernel, stride, padding, forward):
    """``inputs`` has the input's shape, ``outputs`` the output's; window o covers
    the taps of ``inputs`` that lie inside it (padding contributes zeros).
    Forward:  ``outputs[o] = sum(inputs[window o]) / divisor[o]``.
    Backward: ``inputs[window o] += outputs[o] / divisor[o]`` (inputs starts at 0)."""
    N, C, D, H, W = inputs.shape
    od, oh, ow = divisor.shape
    for n in range(N):
        for c in range(C):
            plane = inputs[n, c]
            for i in range(od):
                z_lo, z_hi = max(0, i * stride[0] - padding[0]), min(D, i * stride[0] - padding[0] + kernel[0])
                for j in range(oh):
                    y_lo, y_hi = max(0, j * stride[1] - padding[1]), min(H, j * stride[1] - padding[1] + kernel[1])
                    for k in range(ow):
                        w_lo, w_hi = max(0, k * stride[2] - padding[2]), min(W, k * stride[2] - padding[2] + kernel[2])
                        if forward:
                            total = 0.0
                            for z in range(z_lo, z_hi):
                                for y in range(y_lo, y_hi):
                                    for w in range(w_lo, w_hi):
                                        total += plane[z, y, w]
                            outputs[n, c, i, j, k] = total / divisor[i, j, k]
                        else:
                            share = outputs[n, c, i, j, k] / divisor[i, j, k]
                            for z in range(z_lo, z_hi):
                                for y in range(y_lo, y_hi):
                                    for w in range(w_lo, w_hi):
                                        plane[z, y, w] += share


def max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Maximum of every window and its flat position in the plane: ``(out, indices)``."""
    N, C, *spatial = x.shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation, ceil_mode)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    out3 = as_3d(out)[0]
    values = np.empty((N, C, *out3), dtype=x.dtype)
    indices = np.empty((N, C, *out3), dtype=np.int64)
    _max_pool_3d(np.ascontiguousarray(x).reshape(N, C, *spatial3), values, indices,
                 kernel3, stride3, padding3, dilation3)
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
    result = np.empty((N, C, *divisor.shape), dtype=x.dtype)
    x3 = np.ascontiguousarray(x).reshape(N, C, *spatial3)
    _avg_pool_3d(x3, result, divisor, kernel3, stride3, padding3, True)
    return result.reshape(N, C, *out)


def avg_pool_backward(grad_out, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Every tap of window ``o`` receives ``grad_out[o] / divisor[o]``."""
    N, C = x_shape[:2]
    out, divisor, spatial3, kernel3, stride3, padding3 = _avg_geometry(
        x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, grad_out.dtype)
    grad_x = np.zeros((N, C, *spatial3), dtype=grad_out.dtype)
    g3 = np.ascontiguousarray(grad_out).reshape(N, C, *divisor.shape)
    _avg_pool_3d(grad_x, g3, divisor, kernel3, stride3, padding3, False)
    return grad_x.reshape(x_shape)
