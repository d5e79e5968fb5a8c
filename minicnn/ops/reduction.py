"""Reductions: ``sum mean var max min`` (and ``argmax argmin``, which have no gradient).

Each reduces over ``axis`` (None: all axes; an int or a tuple), keeping the
reduced axes as size 1 when ``keepdims`` is True.  In backward, the output
gradient is first reshaped to the keepdims shape so that it broadcasts back
over the reduced axes (``_expand_back``).

Ties.  ``t.max()`` and ``mc.amax(t, axis)`` split the gradient evenly between
all maxima (as PyTorch's ``amax``); ``t.max(axis)`` returns ``(values,
indices)`` and sends the whole gradient to the returned index (the first
maximum), as PyTorch's ``max(dim)`` does.
"""
from __future__ import annotations

from collections import namedtuple

from ..autograd.function import Function
from ..backend import get_array_module, ignore_float_errors
from ._args import normalize_axes, resolve_axis, resolve_keepdims

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand_back(g, in_shape, axes):
    """Gradient of a reduction, broadcast back to the input's shape."""
    xp = get_array_module(g)
    return xp.broadcast_to(g.reshape(_keepdims_shape(in_shape, axes)), in_shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """out = sum_i x_i over ``axis``;  dL/dx_i = g (every summand gets the gradient)."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        return _expand_back(g, self.in_shape, self.axes)


class Mean(Function):
    """out = (1/N) sum_i x_i;  dL/dx_i = g / N."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        n = _count(self.in_shape, self.axes)
        return _expand_back(g / n, self.in_shape, self.axes)


class Var(Function):
    """out = sum_i (x_i - mean)^2 / (N - correction)  (correction=1: unbiased, PyTorch's default).

    dL/dx_i = g * 2 (x_i - mean) / (N - correction)  (the mean's own dependence
    on x_i cancels because the deviations sum to zero).
    """

    def __init__(self, axes, keepdims, correction):
        self.axes, self.keepdims, self.correction = axes, keepdims, correction

    def forward(self, x):
        xp = get_array_module(x)
        self.in_shape = x.shape
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.dof = _count(x.shape, self.axes) - self.correction
        with ignore_float_errors(xp):
            return (self.centered**2).sum(axis=self.axes, keepdims=self.keepdims) / self.dof

    def backward(self, g):
        g = g.reshape(_keepdims_shape(self.in_shape, self.axes))
        return g * (2.0 / self.dof) * self.centered


class Std(Var):
    """out = sqrt(var(x));  dL/dx_i = g * (x_i - mean) / ((N - correction) * out),
    taken as 0 where out == 0 (all values equal), as PyTorch does."""

    def forward(self, x):
        xp = get_array_module(x)
        self.std = xp.sqrt(super().forward(x))
        return self.std

    def backward(self, g):
        xp = get_array_module(g)
        kept = _keepdims_shape(self.in_shape, self.axes)
        std = self.std.reshape(kept)
        scale = xp.where(std == 0, 0, g.reshape(kept) / (self.dof * xp.where(std == 0, 1, std)))
        return scale * self.centered


class Extremum(Function):
    """out = max (or min) over ``axis``; the gradient is split evenly between ties:
    dL/dx_i = g * [x_i == out] / (number of x_j equal to out)."""

    def __init__(self, axes, keepdims, largest):
        self.axes, self.keepdims, self.largest = axes, keepdims, largest

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{'max' if self.largest else 'min'}: the tensor is empty (shape {x.shape})")
        reduce = x.max if self.largest else x.min
        out = reduce(axis=self.axes, keepdims=True)
        self.x, self.out_kept = x, out
        return out if self.keepdims else out.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes)
        )

    def backward(self, g):
        g = g.reshape(self.out_kept.shape)
        hit = self.x == self.out_kept
        return g * hit / hit.sum(axis=self.axes, keepdims=True).astype(g.dtype)  # (float32 / int64 is float64)


class ExtremumAlong(Function):
    """``(values, indices)`` of the max (or min) along one axis; the gradient goes to
    the returned index only:  dL/dx[..., j, ...] = g * [j == index]."""

    def __init__(self, axis, keepdims, largest):
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    def forward(self, x):
        if x.shape[self.axis] == 0:
            raise ValueError(f"{'max' if self.largest else 'min'}: axis {self.axis} of shape {x.shape} is empty")
        xp = get_array_module(x)
        pick = xp.argmax if self.largest else xp.argmin
        index = xp.expand_dims(pick(x, axis=self.axis), self.axis)
        values = xp.take_along_axis(x, index, axis=self.axis)
        self.in_shape, self.index = x.shape, index
        if not self.keepdims:
            values, index = values.squeeze(self.axis), index.squeeze(self.axis)
        return values, index

    def backward(self, g, _g_index=None):
        if g is None:
            return None
        xp = get_array_module(g)
        shape = [1] * len(self.in_shape)
        shape[self.axis] = self.in_shape[self.axis]
        positions = xp.arange(self.in_shape[self.axis]).reshape(shape)
        g = xp.expand_dims(g, self.axis) if not self.keepdims else g
        return xp.where(positions == self.index, g, 0).astype(g.dtype, copy=False)


class _NoGrad(Function):
    """Integer-valued ops (argmax, argmin) that have no gradient."""

    def backward(self, g):
        return None


class Arg(_NoGrad):
    def __init__(self, axis, keepdims, largest):
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    def forward(self, x):
        xp = get_array_module(x)
        pick = xp.argmax if self.largest else xp.argmin
        if self.axis is None:
            out = pick(x)
            return out.reshape((1,) * x.ndim) if self.keepdims else xp.asarray(out)
        return pick(x, axis=self.axis, keepdims=self.keepdims)


# ------------------------------------------------------------- public functions
def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (all axes when None)."""
    axes = normalize_axes(resolve_axis(axis, dim, "sum"), x.ndim, "sum")
    return Sum.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over ``axis`` (all axes when None)."""
    axes = normalize_axes(resolve_axis(axis, dim, "mean"), x.ndim, "mean")
    return Mean.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def var(x, axis=None, keepdims=False, *, unbiased=None, correction=None, dim=None, keepdim=None):
    """Variance over ``axis``; unbiased (divides by N - 1) by default, as PyTorch.

    ``unbiased=False`` or ``correction=0`` divides by N.
    """
    return _spread(Var, "var", x, axis, keepdims, unbiased, correction, dim, keepdim)


def std(x, axis=None, keepdims=False, *, unbiased=None, correction=None, dim=None, keepdim=None):
    """Standard deviation over ``axis`` (unbiased by default, as ``var``)."""
    return _spread(Std, "std", x, axis, keepdims, unbiased, correction, dim, keepdim)


def _spread(function, name, x, axis, keepdims, unbiased, correction, dim, keepdim):
    """Shared argument handling of ``var`` and ``std`` (PyTorch's unbiased/correction)."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = normalize_axes(resolve_axis(axis, dim, name), x.ndim, name)
    return function.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim), correction=correction)


def _extremum(x, axis, keepdims, dim, keepdim, largest):
    name = "max" if largest else "min"
    axis = resolve_axis(axis, dim, name)
    keepdims = resolve_keepdims(keepdims, keepdim)
    if axis is None:
        return Extremum.apply(x, axes=normalize_axes(None, x.ndim, name), keepdims=keepdims, largest=largest)
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{name}: axis must be one int (use amax/amin for several axes), got {axis!r}")
    (axis,) = normalize_axes(axis, x.ndim, name)
    return ValuesIndices(*ExtremumAlong.apply(x, axis=axis, keepdims=keepdims, largest=largest))


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest element; with ``axis``, ``(values, indices)`` along that axis (as PyTorch)."""
    return _extremum(x, axis, keepdims, dim, keepdim, largest=True)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest element; with ``axis``, ``(values, indices)`` along that axis (as PyTorch)."""
    return _extremum(x, axis, keepdims, dim, keepdim, largest=False)


def amax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Maximum over ``axis`` (int or tuple); ties share the gradient evenly."""
    axes = normalize_axes(resolve_axis(axis, dim, "amax"), x.ndim, "amax")
    return Extremum.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim), largest=True)


def amin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Minimum over ``axis`` (int or tuple); ties share the gradient evenly."""
    axes = normalize_axes(resolve_axis(axis, dim, "amin"), x.ndim, "amin")
    return Extremum.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim), largest=False)


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the largest element (flat index when ``axis`` is None)."""
    axis = resolve_axis(axis, dim, "argmax")
    if axis is not None:
        (axis,) = normalize_axes(axis, x.ndim, "argmax")
    return Arg.apply(x, axis=axis, keepdims=resolve_keepdims(keepdims, keepdim), largest=True)


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the smallest element (flat index when ``axis`` is None)."""
    axis = resolve_axis(axis, dim, "argmin")
    if axis is not None:
        (axis,) = normalize_axes(axis, x.ndim, "argmin")
    return Arg.apply(x, axis=axis, keepdims=resolve_keepdims(keepdims, keepdim), largest=False)
