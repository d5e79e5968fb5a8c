"""Batch-normalisation kernels in CUDA (the GPU fast path; formulas as in ``batchnorm.py``).

A channel's statistics are sums over its m = N * S values (S = prod(spatial)),
which lie in N separate runs of S in memory.  One thread per channel would
leave most of the GPU idle (a ResNet has 16 to 512 channels), so each sum is
taken in two launches:

1. ``P`` partial sums per channel: thread (c, p) visits the values
   ``j = p, p + P, p + 2P, ...`` of channel c (value j is ``x[n, c, s]`` with
   ``n = j / S``, ``s = j % S``); neighbouring threads read neighbouring values;
2. one thread per channel combines its P partials.

Mean and variance use shifted sums for accuracy: a partial accumulates
``sum (x - K)`` and ``sum (x - K)^2`` around its first value K, which gives
its mean and its sum of squared deviations M2; the partials then merge with
Chan's formula::

    n = n_a + n_b,  delta = mean_b - mean_a,
    mean = mean_a + delta n_b / n,   M2 = M2_a + M2_b + delta^2 n_a n_b / n

and ``var = M2 / m`` (biased, as the reference).  The affine map and the input
gradient are one elementwise pass each (channel ``c = (i / S) % C``); the
backward recomputes ``xhat = (x - mean) * inv_std`` from the saved input.
"""
from __future__ import annotations

from ..backend import get_array_module
from .cuda_module import CudaModule, require_int32

SOURCE = r"""
// value j of channel c in x: (N, C, S)
#define CHANNEL_VALUE(x, j, c) x[((long long)((j) / S) * C + (c)) * S + (j) % S]

template <typename T>
__global__ void partial_moments(const T* x, T* partial_mean, T* partial_m2, int total, int C, int S, int m, int P) {
    GRID_STRIDE_LOOP(i, total) {  // i = (c, p)
        const int c = i / P, p = i % P;
        const T shift = CHANNEL_VALUE(x, p, c);
        T sum = T(0), sum_squares = T(0);
        int count = 0;
        for (int j = p; j < m; j += P, ++count) {
            const T d = CHANNEL_VALUE(x, j, c) - shift;
            sum += d;
            sum_squares += d * d;
        }
        partial_mean[i] = shift + sum / T(count);
        partial_m2[i] = sum_squares - sum * sum / T(count);
    }
}

template <typename T>
__global__ void combine_moments(const T* partial_mean, const T* partial_m2, T* mean, T* var, int total, int m, int P) {
    GRID_STRIDE_LOOP(c, total) {
        T mean_a = T(0), m2_a = T(0);
        int n_a = 0;
        for (int p = 0; p < P; ++p) {
            const int n_b = (m - p + P - 1) / P;  // values partial p visited
            const int n = n_a + n_b;
            const T delta = partial_mean[c * P + p] - mean_a;
            mean_a += delta * T(n_b) / T(n);
            m2_a += partial_m2[c * P + p] + delta * delta * (T(n_a) * T(n_b) / T(n));
            n_a = n;
        }
        mean[c] = mean_a;
        var[c] = m2_a / T(m);
    }
}

template <typename T>
__global__ void affine(const T* x, const T* mean, const T* scale, const T* beta, T* y,
                       int total, int C, int S, int has_beta) {
    GRID_STRIDE_LOOP(i, total) {  // y = (x - mean) scale + beta
        const int c = (i / S) % C;
        y[i] = (x[i] - mean[c]) * scale[c] + (has_beta ? beta[c] : T(0));
    }
}

template <typename T>
__global__ void partial_sums(const T* g, const T* x, const T* mean, const T* inv_std, T* partial_g, T* partial_gx,
                             int total, int C, int S, int m, int P) {
    GRID_STRIDE_LOOP(i, total) {  // i = (c, p); xhat = (x - mean) inv_std, recomputed
        const int c = i / P, p = i % P;
        const T mu = mean[c];
        T sum_g = T(0), sum_gx = T(0);
        for (int j = p; j < m; j += P) {
            const T gj = CHANNEL_VALUE(g, j, c);
            sum_g += gj;
            sum_gx += gj * (CHANNEL_VALUE(x, j, c) - mu);
        }
        partial_g[i] = sum_g;
        partial_gx[i] = sum_gx * inv_std[c];
    }
}

template <typename T>
__global__ void combine_sums(const T* partial_g, const T* partial_gx, T* sum_g, T* sum_gx, int total, int P) {
    GRID_STRIDE_LOOP(c, total) {
        T a = T(0), b = T(0);
        for (int p = 0; p < P; ++p) {
            a += partial_g[c * P + p];
            b += partial_gx[c * P + p];
        }
        sum_g[c] = a;
        sum_gx[c] = b;
    }
}

template <typename T>
__global__ void input_gradient(const T* g, const T* x, const T* mean, const T* inv_std, const T* scale,
                               const T* sum_g, const T* sum_gx, T* gx, int total, int C, int S, int m) {
    GRID_STRIDE_LOOP(i, total) {  // gx = (scale / m) (m g - sum_g - xhat sum_gx)
        const int c = (i / S) % C;
        const T xhat = (x[i] - mean[c]) * inv_std[c];
        gx[i] = scale[c] / T(m) * (T(m) * g[i] - sum_g[c] - xhat * sum_gx[c]);
    }
}
"""

BATCHNORM = CudaModule("batchnorm", SOURCE, {
    "partial_moments": ("const T* x", "T* partial_mean", "T* partial_m2", "int total", "int C", "int S", "int m", "int P"),
    "combine_moments": ("const T* partial_mean", "const T* partial_m2", "T* mean", "T* var", "int total", "int m", "int P"),
    "affine": ("const T* x", "const T* mean", "const T* scale", "const T* beta", "T* y",
               "int total", "int C", "int S", "int has_beta"),
    "partial_sums": ("const T* g", "const T* x", "const T* mean", "const T* inv_std", "T* partial_g", "T* partial_gx",
                     "int total", "int C", "int S", "int m", "int P"),
    "combine_sums": ("const T* partial_g", "const T* partial_gx", "T* sum_g", "T* sum_gx", "int total", "int P"),
    "input_gradient": ("const T* g", "const T* x", "const T* mean", "const T* inv_std", "const T* scale",
                       "const T* sum_g", "const T* sum_gx", "T* gx", "int total", "int C", "int S", "int m"),
})

VALUES_PER_PARTIAL = 16  # at least this many values per partial sum ...
MAX_PARTIALS = 1024  # ... and at most this many partials per channel


def _layout(x):
    """``(C, S, m, P)`` of x: (N, C, *spatial) for the two-level channel sums."""
    C = x.shape[1]
    m = x.size // C
    S = m // x.shape[0]
    P = max(1, min(m // VALUES_PER_PARTIAL, MAX_PARTIALS))
    return C, S, m, P


def batch_norm_statistics(x):
    """Per-channel mean and biased variance: ``(mean, var)``, each (C,)."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    require_int32(x.size)
    C, S, m, P = _layout(x)
    partial_mean, partial_m2 = xp.empty((C, P), x.dtype), xp.empty((C, P), x.dtype)
    BATCHNORM.launch("partial_moments", x.dtype, C * P, (x, partial_mean, partial_m2, C * P, C, S, m, P))
    mean, var = xp.empty(C, x.dtype), xp.empty(C, x.dtype)
    BATCHNORM.launch("combine_moments", x.dtype, C, (partial_mean, partial_m2, mean, var, C, m, P))
    return mean, var


def batch_norm_affine(x, mean, scale, beta):
    """``y = (x - mean) * scale + beta``; a missing beta is 0."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    require_int32(x.size)
    C, S, _, _ = _layout(x)
    mean, scale = xp.ascontiguousarray(mean, dtype=x.dtype), xp.ascontiguousarray(scale, dtype=x.dtype)
    y = xp.empty_like(x)
    has_beta = beta is not None
    beta = xp.ascontiguousarray(beta, dtype=x.dtype) if has_beta else mean  # never read without beta
    BATCHNORM.launch("affine", x.dtype, x.size, (x, mean, scale, beta, y, x.size, C, S, int(has_beta)))
    return y


def batch_norm_backward(g, x, mean, inv_std, scale):
    """Training-mode gradient of x with the channel sums: ``(gx, sum_g, sum_gx)``."""
    xp = get_array_module(g)
    g, x = xp.ascontiguousarray(g), xp.ascontiguousarray(x, dtype=g.dtype)
    require_int32(g.size)
    C, S, m, P = _layout(g)
    mean, inv_std, scale = (xp.ascontiguousarray(v, dtype=g.dtype) for v in (mean, inv_std, scale))
    partial_g, partial_gx = xp.empty((C, P), g.dtype), xp.empty((C, P), g.dtype)
    BATCHNORM.launch("partial_sums", g.dtype, C * P,
                     (g, x, mean, inv_std, partial_g, partial_gx, C * P, C, S, m, P))
    sum_g, sum_gx = xp.empty(C, g.dtype), xp.empty(C, g.dtype)
    BATCHNORM.launch("combine_sums", g.dtype, C, (partial_g, partial_gx, sum_g, sum_gx, C, P))
    gx = xp.empty_like(g)
    BATCHNORM.launch("input_gradient", g.dtype, g.size,
                     (g, x, mean, inv_std, scale, sum_g, sum_gx, gx, g.size, C, S, m))
    return gx, sum_g, sum_gx
