"""Resizing and padding: ``interpolate`` and ``pad``.

Both are linear maps that act on one spatial axis at a time.  Along an axis of
n_in values, every output position o reads one or two input positions:

    nearest:    y[o] = x[src(o)],                       src(o) = min(floor(o * s), n_in - 1)
    linear:     y[o] = (1 - l) x[i0] + l x[i0 + 1],     i0 = floor(src), l = src - i0
    pad modes:  y[o] = x[src(o)],  src reflecting, replicating or wrapping at the borders

so the whole op is a list of (index, weight) pairs per axis, applied one axis
after the other (``Resample``).  Bilinear interpolation is linear
interpolation along W and then along H.

The source coordinate (PyTorch's convention, reproduced exactly):

* ``align_corners=False`` (default): pixels are unit squares and their
  centres line up:  src = s (o + 0.5) - 0.5, clamped at 0, with
  s = 1 / scale_factor when a scale factor is given, else n_in / n_out;
* ``align_corners=True``: the corner pixels line up:  src = o (n_in - 1) / (n_out - 1).

Example (one row, 2 -> 4, bilinear, align_corners=False): s = 1/2, the source
coordinates are 0 (clamped from -0.25), 0.25, 0.75, 1.25 -> the output
[x0, 0.75 x0 + 0.25 x1, 0.25 x0 + 0.75 x1, x1] (the last clamped at the border).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .. import backend
from ..autograd.function import Function
from ..backend import get_array_module

__all__ = ["interpolate", "pad"]


class Resample(Function):
    """A sum of weighted gathers along each axis of a plan, applied in turn.

    Along one ``axis`` with terms (idx_k, w_k) (w_k None means 1):
        forward:   y[..., o, ...] = sum_k w_k[o] x[..., idx_k[o], ...]
        backward:  dL/dx[..., i, ...] = sum_k sum_{o: idx_k[o] = i} w_k[o] g[..., o, ...]
    The backward is the transpose of the forward (a scatter-add: several
    outputs may read the same input, and all their gradients add up).
    x: (N, C, *in_sizes) -> y: (N, C, *out_sizes).
    """

    def __init__(self, plan):
        self.plan = plan  # ((axis, n_in, ((idx, weight or None), ...)), ...)

    def forward(self, x):
        xp = get_array_module(x)
        if not self.plan:
            return x.copy()
        for axis, _, terms in self.plan:
            y = None
            for idx, w in terms:
                part = xp.take(x, idx, axis=axis)
                if w is not None:
                    part = part * _along(w, axis, x.ndim)
                y = part if y is None else y + part
            x = y
        return x

    def backward(self, g):
        xp = get_array_module(g)
        for axis, n_in, terms in reversed(self.plan):
            g_first = xp.moveaxis(g, axis, 0)  # (n_out, ...)
            grad = xp.zeros((n_in,) + g_first.shape[1:], dtype=g.dtype)
            for idx, w in terms:
                backend.scatter_add(grad, idx, g_first if w is None else g_first * _along(w, 0, g.ndim))
            g = xp.moveaxis(grad, 0, axis)
        return g


def _along(w, axis, ndim):
    """A 1-d vector shaped to broadcast along ``axis`` of an ndim-d array."""
    return w.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis - 1))


class ConstantPad(Function):
    """y = x surrounded by ``value`` (negative widths crop).

    Per axis (before, after): the input slice [max(-before, 0), n - max(-after, 0))
    lands at [max(before, 0), n_out - max(after, 0)) of the output.
    Backward: dL/dx = g on that slice (0 where x was cropped away).
    """

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        xp = get_array_module(x)
        self.in_shape = x.shape
        out_shape = tuple(n + b + a for n, (b, a) in zip(x.shape, self.widths))
        self.src, self.dst = _pad_slices(x.shape, out_shape, self.widths)
        y = xp.full(out_shape, self.value, dtype=x.dtype)
        y[self.dst] = x[self.src]
        return y

    def backward(self, g):
        grad = get_array_module(g).zeros(self.in_shape, dtype=g.dtype)
        grad[self.src] = g[self.dst]
        return grad


def _pad_slices(in_shape, out_shape, widths):
    src = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(in_shape, widths))
    dst = tuple(slice(max(b, 0), m - max(a, 0)) for m, (b, a) in zip(out_shape, widths))
    return src, dst


# ----------------------------------------------------------- index plans
def _nearest_terms(n_in, n_out, scale, xp):
    """src(o) = min(floor(o * s), n_in - 1) in float32 arithmetic, as PyTorch's CPU
    kernel (s = 1/scale_factor when given, else n_in/n_out; exact for n_out = n_in, 2 n_in)."""
    o = xp.arange(n_out)
    if n_out == n_in:
        return ((o, None),)
    if n_out == 2 * n_in:
        return ((o // 2, None),)
    s = xp.float32(1.0 / scale) if scale else xp.float32(n_in) / xp.float32(n_out)
    src = xp.floor(o.astype(xp.float32) * s).astype(xp.int64)
    return ((xp.minimum(src, n_in - 1), None),)


def _linear_terms(n_in, n_out, scale, align_corners, dtype, xp):
    """y[o] = (1 - l) x[i0] + l x[i1],  src = i0 + l  (see the module docstring)."""
    o = xp.arange(n_out, dtype=dtype)
    if align_corners:
        src = o * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        s = 1.0 / scale if scale else n_in / n_out
        src = xp.maximum((o + 0.5) * s - 0.5, 0)
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)
    i1 = xp.minimum(i0 + 1, n_in - 1)
    lam = xp.clip(src - i0, 0, 1).astype(dtype, copy=False)
    return ((i0, 1 - lam), (i1, lam))


_MODES = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "trilinear": (5,)}


def _per_axis(value, d, name, cast):
    """An int/float or a sequence of d of them -> a tuple of d values."""
    if isinstance(value, Sequence):
        if len(value) != d:
            raise ValueError(f"interpolate: {name} must have {d} entries for {d} spatial axes, got {value!r}")
        return tuple(cast(v) for v in value)
    return (cast(value),) * d


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize x: (N, C, *spatial) to ``size`` or by ``scale_factor`` (exactly one of them).

    Modes: "nearest" (1-d, 2-d, 3-d), "linear" (N, C, L), "bilinear" (N, C, H, W),
    "trilinear" (N, C, D, H, W).  Output sizes and source indices follow PyTorch
    exactly: n_out = floor(n_in * scale_factor), and the index uses 1/scale_factor
    unless ``recompute_scale_factor`` is True.
    """
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got mode={mode!r}")
    if x.ndim not in _MODES[mode]:
        raise ValueError(
            f"interpolate: mode={mode!r} expects a {' or '.join(f'{n}-d' for n in _MODES[mode])} input "
            f"(N, C, *spatial), got shape {tuple(x.shape)}"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    linear = mode != "nearest"
    if align_corners is not None and not linear:
        raise ValueError("interpolate: align_corners can only be set with the modes linear, bilinear, trilinear")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    d = x.ndim - 2
    n_in = tuple(x.shape[2:])
    if size is not None:
        n_out = _per_axis(size, d, "size", int)
        scales = (None,) * d
    else:
        scales = _per_axis(scale_factor, d, "scale_factor", float)
        n_out = tuple(math.floor(n * s) for n, s in zip(n_in, scales))
        if recompute_scale_factor:
            scales = (None,) * d
    if any(n <= 0 for n in n_out):
        raise ValueError(f"interpolate: output size {n_out} must be positive (input shape {tuple(x.shape)})")
    xp = get_array_module(x.data)
    plan = []
    for i in reversed(range(d)):  # last axis first, as PyTorch's bilinear kernel
        if linear:
            terms = _linear_terms(n_in[i], n_out[i], scales[i], bool(align_corners), x.dtype, xp)
        else:
            terms = _nearest_terms(n_in[i], n_out[i], scales[i], xp)
        plan.append((2 + i, n_in[i], terms))
    return Resample.apply(x, plan=tuple(plan))


# ------------------------------------------------------------------- pad
def _pad_index(n, before, after, mode, xp):
    """Source positions of one padded axis: j = -before .. n + after - 1 mapped into [0, n)."""
    j = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    j = xp.abs(j)  # reflect: -1 -> 1, and n -> n - 2 (the border is not repeated)
    return xp.where(j > n - 1, 2 * (n - 1) - j, j)


def pad(x, pad, mode="constant", value=None):
    """Pad x; ``pad`` lists (before, after) pairs starting from the LAST axis,
    as PyTorch: (left, right) pads W, (left, right, top, bottom) pads W and H.

    Modes: "constant" (``value``, default 0; negative widths crop), "reflect"
    (mirror without repeating the border: [1 2 3] -> 3 2 [1 2 3] 2 1),
    "replicate" (repeat the border), "circular" (wrap around).
    """
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: pad must hold (before, after) pairs for at most {x.ndim} axes, got {tuple(pad)}"
        )
    pairs = [(int(pad[2 * k]), int(pad[2 * k + 1])) for k in range(len(pad) // 2)]
    widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]  # first axis first
    out_shape = tuple(n + b + a for n, (b, a) in zip(x.shape, widths))
    if any(n < 0 for n in out_shape):
        raise ValueError(f"pad: padding {tuple(pad)} crops input of shape {tuple(x.shape)} below size 0")
    if mode == "constant":
        return ConstantPad.apply(x, widths=tuple(widths), value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got mode={mode!r}"
        )
    if value is not None:
        raise ValueError(f"pad: mode={mode!r} takes no value (got value={value!r})")
    xp = get_array_module(x.data)
    plan = []
    for axis in range(x.ndim - len(pairs), x.ndim):
        (before, after), n = widths[axis], x.shape[axis]
        limit = n if mode == "circular" else n - 1 if mode == "reflect" else None
        if limit is not None and max(before, after) > limit:
            raise ValueError(
                f"pad: {mode} padding ({before}, {after}) of axis {axis} needs at most {limit} "
                f"(input shape {tuple(x.shape)})"
            )
        if n == 0:
            raise ValueError(f"pad: cannot {mode}-pad the empty axis {axis} of shape {tuple(x.shape)}")
        plan.append((axis, n, ((_pad_index(n, before, after, mode, xp), None),)))
    return Resample.apply(x, plan=tuple(plan))
