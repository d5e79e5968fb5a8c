"""Argument helpers shared by the ops: PyTorch spellings and axis normalisation."""
from __future__ import annotations


def resolve_axis(axis, dim, op, default=None):
    """``axis=`` is minicnn's word; ``dim=`` (PyTorch's) is accepted as an alias.

    Functions whose axis has a default other than None (``cat``: 0) declare
    ``axis=None`` and pass the real default here, so that ``dim=`` alone works.
    """
    if dim is None:
        return default if axis is None else axis
    if axis is not None and axis != dim:
        raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; pass one of them")
    return dim


def resolve_keepdims(keepdims, keepdim):
    """``keepdims=`` (NumPy) with ``keepdim=`` (PyTorch) as an alias."""
    return bool(keepdims if keepdim is None else keepdim)


def normalize_axes(axis, ndim, op):
    """Axis argument -> tuple of non-negative axes (None means all axes).

    Raises a clear ``IndexError`` for an axis outside ``[-ndim, ndim)``.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(a % max(ndim, 1) if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(out)


def shape_args(shape, op):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` alike -> tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: a shape must be integers, got {shape!r}") from None
