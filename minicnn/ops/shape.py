"""Shape ops: reshape, permute/transpose, expand, indexing, cat, stack, split.

None of these changes a value; each only moves values around.  So each
backward moves the gradient back: reshape it back, apply the inverse
permutation, sum over expanded axes, scatter it into the indexed positions
(adding where an index repeats), or cut it into the concatenated pieces.
"""
from __future__ import annotations

import builtins
import numbers

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, scatter_add
from ._args import normalize_axes, resolve_axis, shape_args
from .arithmetic import sum_to_shape


class Reshape(Function):
    """out = x viewed with a new shape (same number of elements);  dL/dx = g reshaped back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {self.shape}"
            ) from None

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Function):
    """out = x with its axes reordered by ``axes``;  dL/dx = g with the inverse order."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return g.transpose(inverse)


class Expand(Function):
    """out = x broadcast to ``shape`` (no copy);  dL/dx = g summed over the stretched axes."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        xp = get_array_module(x)
        self.in_shape = x.shape
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {self.shape}") from None

    def backward(self, g):
        return sum_to_shape(g, self.in_shape)


class GetItem(Function):
    """out = x[key] for ints, slices, None, Ellipsis, integer arrays and boolean masks.

    dL/dx = zeros with g added at the indexed positions (``scatter_add``: an
    element picked twice by an integer array gets both gradients).
    """

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.key]
        except IndexError as exc:
            raise IndexError(f"index {_describe(self.key)} is invalid for a tensor of shape {x.shape}: {exc}") from None

    def backward(self, g):
        xp = get_array_module(g)
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        scatter_add(grad, self.key, g)
        return grad


def _describe(key):
    return repr(key) if not hasattr(key, "shape") else f"array of shape {key.shape}"


class Concatenate(Function):
    """out = the inputs joined along ``axis``;  dL/dx_k = the k-th slice of g."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, g):
        return _split_at(g, self.sizes, self.axis)


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  dL/dx_k = g indexed at k on that axis."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        return xp.stack(xs, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, k, axis=self.axis) for k in range(g.shape[self.axis]))


class Split(Function):
    """outs = x cut along ``axis`` into pieces of ``sizes``;  dL/dx = the piece gradients
    joined (zeros for pieces that did not reach the loss)."""

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        return tuple(_split_at(x, self.sizes, self.axis))

    def backward(self, *grads):
        xp = get_array_module(next(g for g in grads if g is not None))
        pieces = []
        for size, g in zip(self.sizes, builtins.list(grads) + [None] * (len(self.sizes) - len(grads))):
            if g is None:
                shape = builtins.list(self.in_shape)
                shape[self.axis] = size
                g = xp.zeros(shape, dtype=self.dtype)
            pieces.append(g)
        return xp.concatenate(pieces, axis=self.axis)


def _split_at(x, sizes, axis):
    out, start = [], 0
    index = [slice(None)] * x.ndim
    for size in sizes:
        index[axis] = slice(start, start + size)
        out.append(x[tuple(index)])
        start += size
    return tuple(out)


# ------------------------------------------------------------- public functions
def reshape(x, *shape):
    """x with a new shape (one entry may be -1)."""
    return Reshape.apply(x, shape=shape_args(shape, "reshape"))


def permute(x, *axes):
    """x with its axes reordered (``permute(x, 0, 2, 3, 1)``: NCHW -> NHWC)."""
    axes = shape_args(axes, "permute")
    if sorted(a % builtins.max(x.ndim, 1) for a in axes) != builtins.list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, axis0=None, axis1=None, *, dim0=None, dim1=None):
    """Swap two axes (PyTorch's ``transpose(dim0, dim1)``); with none given, reverse all axes."""
    axis0 = resolve_axis(axis0, dim0, "transpose")
    axis1 = resolve_axis(axis1, dim1, "transpose")
    if axis0 is None and axis1 is None:
        return Permute.apply(x, axes=tuple(reversed(range(x.ndim))))
    (a,), (b,) = (normalize_axes(axis, x.ndim, "transpose") for axis in (axis0, axis1))
    axes = builtins.list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def flatten(x, start_axis=None, end_axis=None, *, start_dim=None, end_dim=None):
    """Merge axes ``start_axis..end_axis`` (default: all) into one: (N, C, H, W) -> (N, C*H*W) with start 1."""
    start = resolve_axis(start_axis, start_dim, "flatten", default=0)
    end = resolve_axis(end_axis, end_dim, "flatten", default=-1)
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = (normalize_axes(a, x.ndim, "flatten")[0] for a in (start, end))
    if start > end:
        raise ValueError(f"flatten: start axis {start} comes after end axis {end}")
    merged = 1
    for n in x.shape[start : end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def squeeze(x, axis=None, *, dim=None):
    """Drop axes of size 1 (only ``axis`` when given; a larger axis is left alone, as PyTorch)."""
    axis = resolve_axis(axis, dim, "squeeze")
    axes = normalize_axes(axis, x.ndim, "squeeze") if axis is not None else range(x.ndim)
    shape = tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))
    return reshape(x, shape)


def unsqueeze(x, axis=None, *, dim=None):
    """Insert an axis of size 1 at ``axis`` (negative counts from the end of the result)."""
    axis = resolve_axis(axis, dim, "unsqueeze")
    if axis is None:
        raise TypeError("unsqueeze: missing the axis argument")
    (axis,) = normalize_axes(axis, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def expand(x, *shape):
    """Broadcast x to ``shape`` without copying; -1 keeps that axis's size."""
    shape = shape_args(shape, "expand")
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: shape {shape} has fewer dimensions than the tensor's {x.shape}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    return Expand.apply(x, shape=shape)


def getitem(x, key):
    """x[key]; tensors in ``key`` are used as index arrays (integer or boolean)."""
    return GetItem.apply(x, key=_index_key(key, x))


def _index_key(key, x):
    """``key`` with its index arrays (tensors, lists, NumPy/CuPy arrays) as arrays
    on ``x``'s device.  As in PyTorch, CPU indices work for a GPU tensor (they are
    copied over), but GPU indices for a CPU tensor are an error."""
    key = tuple(_index_part(k, x) for k in key) if isinstance(key, tuple) else _index_part(key, x)
    if backend.is_gpu_array(x.data):
        check_index_bounds(key, x.shape)
    return key


def check_index_bounds(key, shape):
    """Raise ``IndexError`` for an integer index array with an entry outside its axis.

    NumPy does this itself; CuPy wraps such indices around silently, so GPU
    keys are checked here (one reduction per index array).  Keys with ``None``
    or ``...`` are left to the library.
    """
    parts = key if isinstance(key, tuple) else (key,)
    if any(part is None or part is Ellipsis for part in parts):
        return
    axis = 0
    for part in parts:
        is_array = hasattr(part, "dtype") and hasattr(part, "ndim")
        if is_array and part.dtype.kind in "iu" and part.size and axis < len(shape):
            n = shape[axis]
            if bool(((part < -n) | (part >= n)).any()):
                raise IndexError(
                    f"index {int(part.max()) if bool((part >= n).any()) else int(part.min())} is out of "
                    f"bounds for axis {axis} with size {n} (tensor of shape {tuple(shape)})"
                )
        axis += part.ndim if is_array and part.dtype.kind == "b" else 1


def _index_part(k, x):
    if isinstance(k, Tensor):
        k = k.data
    if isinstance(k, builtins.list):
        return get_array_module(x.data).asarray(k)
    if isinstance(k, numbers.Integral) and not isinstance(k, builtins.bool):
        return int(k)  # NumPy integers index like Python ints (a 0-d array would not, on CuPy)
    if not hasattr(k, "__array__"):
        return k  # slices, None, Ellipsis, Python ints and bools
    if backend.is_gpu_array(k) and not backend.is_gpu_array(x.data):
        raise backend.DeviceError(
            f"index: the index array is on {backend.device_of(k)} but the indexed tensor "
            f"{tuple(x.shape)} is on {x.device}; move the index with .cpu() first"
        )
    return backend.to_device(k, x.device) if hasattr(k, "shape") else get_array_module(x.data).asarray(k)


def _as_list(tensors, op):
    tensors = builtins.list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: element {i} is a {type(t).__name__}, expected a Tensor")
    return tensors


def cat(tensors, axis=None, *, dim=None):
    """Join tensors along an existing axis (default 0); all other axes must match."""
    tensors = _as_list(tensors, "cat")
    axis = resolve_axis(axis, dim, "cat", default=0)
    ndim = tensors[0].ndim
    (axis,) = normalize_axes(axis, ndim, "cat")
    for t in tensors:
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1 :] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1 :]:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"cat: shapes {shapes} must match in every axis except axis {axis}")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=None, *, dim=None):
    """Join same-shaped tensors along a new axis (default 0)."""
    tensors = _as_list(tensors, "stack")
    axis = resolve_axis(axis, dim, "stack", default=0)
    (axis,) = normalize_axes(axis, tensors[0].ndim + 1, "stack")
    if builtins.any(t.shape != tensors[0].shape for t in tensors):
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes}")
    return Stack.apply(*tensors, axis=axis)


def split(x, split_size_or_sections, axis=None, *, dim=None):
    """Cut x along ``axis``: into pieces of size n (the last may be smaller) when given an
    int, or into pieces of the listed sizes (PyTorch's ``split``)."""
    axis = resolve_axis(axis, dim, "split", default=0)
    (axis,) = normalize_axes(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split size must be positive, got {size}")
        sizes = [builtins.min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but axis {axis} has {length}")
    return Split.apply(x, sizes=tuple(sizes), axis=axis)
