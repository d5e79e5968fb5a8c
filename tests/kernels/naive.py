"""Loop-by-loop definitions of im2col, convolution and pooling, for the tests.

Written from the definitions, independently of the kernels: one Python
iteration per output element (and per window tap where that is clearer), on
NumPy float64 arrays.  Any number of spatial axes; padding per axis may be an
int (both sides) or a pair (before, after).  Slow, so keep the inputs tiny.
"""
import itertools
import math

import numpy as np


def _pairs(padding):
    return [(p, p) if isinstance(p, int) else tuple(p) for p in padding]


def pad(x, padding, value=0.0):
    """Pad the spatial axes (all but the first two) of x."""
    return np.pad(x, [(0, 0), (0, 0)] + _pairs(padding), constant_values=value)


def count_windows(n, f, s, before, after, dilation=1):
    """Window starts that fit, counted one by one."""
    span = dilation * (f - 1) + 1
    return sum(1 for start in range(0, n + before + after, s) if start + span <= n + before + after)


def im2col(x, kernel, stride, padding, dilation):
    """cols[n, (c, k), o] = x_pad[n, c, o * s + k * d], one element at a time."""
    N, C, *spatial = x.shape
    xp = pad(x, padding)
    out = [count_windows(n, f, s, p, p, d) for n, f, s, p, d in zip(spatial, kernel, stride, padding, dilation)]
    cols = np.zeros((N, C * math.prod(kernel), math.prod(out)), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for ki, k in enumerate(np.ndindex(*kernel)):
                for oi, o in enumerate(np.ndindex(*out)):
                    at = tuple(oo * s + kk * d for oo, kk, s, d in zip(o, k, stride, dilation))
                    cols[n, c * math.prod(kernel) + ki, oi] = xp[(n, c) + at]
    return cols


def conv(x, w, b=None, stride=None, padding=None, dilation=None, groups=1):
    """y[n, f, o] = b[f] + sum over the group's channels c and taps k of w[f, c, k] * x_pad[n, c, o*s + k*d]."""
    N, C, *spatial = x.shape
    F, Cg, *kernel = w.shape
    d = len(spatial)
    stride, dilation = stride or (1,) * d, dilation or (1,) * d
    pairs = _pairs(padding or (0,) * d)
    xp = pad(x, pairs)
    out = [count_windows(n, f, s, lo, hi, dl) for n, f, s, (lo, hi), dl in zip(spatial, kernel, stride, pairs, dilation)]
    y = np.zeros((N, F, *out))
    for n in range(N):
        for f in range(F):
            g = f // (F // groups)
            for o in np.ndindex(*out):
                total = 0.0 if b is None else b[f]
                for c in range(Cg):
                    for k in np.ndindex(*kernel):
                        at = tuple(oo * s + kk * dl for oo, kk, s, dl in zip(o, k, stride, dilation))
                        total += w[(f, c) + k] * xp[(n, g * Cg + c) + at]
                y[(n, f) + o] = total
    return y


def conv_transpose(x, w, b=None, stride=None, padding=None, output_padding=None, dilation=None, groups=1):
    """Scatter form: every input element x[n, ci, i] adds x * w[ci, co, k] to y[n, co, i*s + k*d - p]."""
    N, Cin, *spatial = x.shape
    _, Cog, *kernel = w.shape
    d = len(spatial)
    stride, dilation = stride or (1,) * d, dilation or (1,) * d
    padding, output_padding = padding or (0,) * d, output_padding or (0,) * d
    out = [(n - 1) * s - 2 * p + dl * (f - 1) + 1 + op
           for n, f, s, p, dl, op in zip(spatial, kernel, stride, padding, dilation, output_padding)]
    Cout = Cog * groups
    y = np.zeros((N, Cout, *out))
    for n in range(N):
        for ci in range(Cin):
            g = ci // (Cin // groups)
            for i in np.ndindex(*spatial):
                for co in range(Cog):
                    for k in np.ndindex(*kernel):
                        at = tuple(ii * s + kk * dl - p for ii, kk, s, dl, p in zip(i, k, stride, dilation, padding))
                        if all(0 <= a < m for a, m in zip(at, out)):
                            y[(n, g * Cog + co) + at] += x[(n, ci) + i] * w[(ci, co) + k]
    if b is not None:
        y += b.reshape(-1, *(1,) * d)
    return y


def _pool_windows(x, kernel, stride, padding, dilation, ceil_mode):
    """Yield (n, c, o, positions inside x, number of taps inside x or the padding)."""
    N, C, *spatial = x.shape
    out = []
    for n, f, s, p, dl in zip(spatial, kernel, stride, padding, dilation):
        span = dl * (f - 1) + 1
        if ceil_mode:
            o = math.ceil((n + 2 * p - span) / s) + 1
            if (o - 1) * s >= n + p:
                o -= 1
        else:
            o = (n + 2 * p - span) // s + 1
        out.append(o)
    for nn, c in itertools.product(range(N), range(C)):
        for o in np.ndindex(*out):
            inside, padded = [], 0
            for k in np.ndindex(*kernel):
                at = tuple(oo * s - p + kk * dl for oo, kk, s, p, dl in zip(o, k, stride, padding, dilation))
                if all(0 <= a < m for a, m in zip(at, spatial)):
                    inside.append(at)
                if all(-p <= a < m + p for a, m, p in zip(at, spatial, padding)):
                    padded += 1
            yield nn, c, o, out, inside, padded


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """(max of each window, flat position of its first maximum), window by window
    (-inf and -1 for a window wholly in the padding)."""
    spatial = x.shape[2:]
    y = idx = None
    for n, c, o, out, inside, _ in _pool_windows(x, kernel, stride, padding, dilation, ceil_mode):
        if y is None:
            y, idx = np.zeros((*x.shape[:2], *out)), np.zeros((*x.shape[:2], *out), dtype=np.int64)
        values = [x[(n, c) + at] for at in inside]
        if not values:  # the window lies wholly in the padding
            y[(n, c) + o], idx[(n, c) + o] = -np.inf, -1
            continue
        best = int(np.argmax(values))
        y[(n, c) + o] = values[best]
        idx[(n, c) + o] = np.ravel_multi_index(inside[best], spatial)
    return y, idx


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """Sum of each window over its size: the taps inside the input or the padding
    (count_include_pad) or inside the input only."""
    y = None
    d = len(kernel)
    for n, c, o, out, inside, padded in _pool_windows(x, kernel, stride, padding, (1,) * d, ceil_mode):
        if y is None:
            y = np.zeros((*x.shape[:2], *out))
        total = sum(x[(n, c) + at] for at in inside)
        y[(n, c) + o] = total / (padded if count_include_pad else len(inside))
    return y


def adaptive_bins(n, out):
    """PyTorch's bins: [floor(i n / out), ceil((i + 1) n / out))."""
    return [(math.floor(i * n / out), math.ceil((i + 1) * n / out)) for i in range(out)]


def adaptive_pool(x, output_size, reduce):
    """reduce(values of the bin) for every output element."""
    N, C, *spatial = x.shape
    bins = [adaptive_bins(n, o) for n, o in zip(spatial, output_size)]
    y = np.zeros((N, C, *output_size))
    for n, c in itertools.product(range(N), range(C)):
        for o in np.ndindex(*output_size):
            box = tuple(slice(*bins[a][o[a]]) for a in range(len(o)))
            y[(n, c) + o] = reduce(x[(n, c) + box])
    return y
