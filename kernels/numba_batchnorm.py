"""Batch-normalisation kernels in Numba: the signatures of ``batchnorm.py``.

The reference makes a pass over x for every line of the math (mean, centre,
square, mean again; then subtract, multiply, multiply, add) and allocates a
temporary for each.  Here every kernel is one loop nest per channel that reads
x once or twice and writes its outputs directly:

* statistics: one pass accumulating ``sum(x - k)`` and ``sum((x - k)^2)`` in
  float64, with ``k`` the channel's first value (a shift that keeps the
  variance formula ``E[(x-k)^2] - E[x-k]^2`` free of cancellation), the sums
  vectorised (``SUMS`` below);
* affine: ``y = (x - mu) * scale + beta`` in one pass (training and evaluation);
* backward: one pass for the two sums, one for ``gx``, both recomputing
  ``xhat = (x - mu) * inv_std`` from the saved input as they go.

x is viewed as (N, C, S) with S = prod(spatial); each (n, c) row of S values
is contiguous.  Serial (see ``numba_im2col``).
"""
from __future__ import annotations

import numpy as np
from numba import njit


# The sums are float64 and may be added in any order ("reassoc"): LLVM then keeps
# vector registers of partial sums, the only fast-math flag used (no assumption about
# NaN or infinity; in float64 the reordering changes results by ~1e-16 relative).
# Against 8 explicit lanes in memory, the statistics of a ResNet-20 stage-1 batch
# took 0.24 instead of 1.42 ms.
SUMS = dict(cache=True, boundscheck=False, fastmath={"reassoc", "contract"})


@njit(**SUMS)
def _statistics(x, mean, var):
    N, C, S = x.shape
    m = N * S
    for c in range(C):
        shift = np.float64(x[0, c, 0])
        total = 0.0
        squares = 0.0
        for n in range(N):
            for s in range(S):
                d = x[n, c, s] - shift
                total += d
                squares += d * d
        centred_mean = total / m
        mean[c] = shift + centred_mean
        var[c] = max(squares / m - centred_mean * centred_mean, 0.0)


@njit(cache=True)
def _affine(x, mean, scale, beta, y):
    N, C, S = x.shape
    for n in range(N):
        for c in range(C):
            mu, a, b = mean[c], scale[c], beta[c]
            for s in range(S):
                y[n, c, s] = (x[n, c, s] - mu) * a + b


@njit(**SUMS)
def _channel_sums(g, x, mean, inv_std, sum_g, sum_gx):
    N, C, S = g.shape
    for c in range(C):
        mu = np.float64(mean[c])
        total = 0.0
        dot = 0.0  # sum of g (x - mu): times inv_std, sum of g xhat
        for n in range(N):
            for s in range(S):
                total += g[n, c, s]
                dot += g[n, c, s] * (x[n, c, s] - mu)
        sum_g[c], sum_gx[c] = total, dot * inv_std[c]


@njit(cache=True, boundscheck=False)
def _backward(g, x, mean, inv_std, scale, gx, sum_g, sum_gx):
    N, C, S = g.shape
    m = N * S
    _channel_sums(g, x, mean, inv_std, sum_g, sum_gx)
    for n in range(N):
        for c in range(C):
            k, mu, r = scale[c] / m, mean[c], inv_std[c]
            total, dot = sum_g[c], sum_gx[c]
            for s in range(S):
                gx[n, c, s] = k * (m * g[n, c, s] - total - (x[n, c, s] - mu) * r * dot)


def _rows(x):
    """x: (N, C, *spatial) as a contiguous (N, C, S) array."""
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)


def batch_norm_statistics(x):
    """Per-channel mean and biased variance in one pass (float64 sums)."""
    C = x.shape[1]
    mean, var = np.empty(C, dtype=np.float64), np.empty(C, dtype=np.float64)
    _statistics(_rows(x), mean, var)
    return mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_affine(x, mean, scale, beta):
    """``y = (x - mean) * scale + beta`` in one pass; a missing beta is 0."""
    C, dtype = x.shape[1], x.dtype
    beta = np.zeros(C, dtype) if beta is None else beta
    y = np.empty(x.shape, dtype)
    _affine(_rows(x), mean.astype(dtype, copy=False), scale.astype(dtype, copy=False),
            beta.astype(dtype, copy=False), _rows(y))
    return y


def batch_norm_backward(g, x, mean, inv_std, scale):
    """``(gx, sum_g, sum_gx)``, xhat recomputed from x on the fly; the sums in float64,
    returned in g's dtype."""
    C, dtype = g.shape[1], g.dtype
    gx = np.empty(g.shape, dtype)
    sum_g, sum_gx = np.empty(C, dtype=np.float64), np.empty(C, dtype=np.float64)
    _backward(_rows(g), _rows(x.astype(dtype, copy=False)), mean.astype(dtype, copy=False),
              inv_std.astype(dtype, copy=False), scale.astype(dtype, copy=False), _rows(gx), sum_g, sum_gx)
    return gx, sum_g.astype(dtype), sum_gx.astype(dtype)
