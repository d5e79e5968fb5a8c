"""Making tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``randn``, ``rand``, ``arange``, ...

The dtype rules are PyTorch's: Python floats become the default dtype
(float32), Python ints become int64, bools stay bool, and NumPy arrays keep
their own dtype.  Random factories draw from the generator of the target
device, seeded by ``minicnn.manual_seed``.
"""
from __future__ import annotations

import numpy

from . import backend
from .autograd.tensor import Tensor
from .ops._args import shape_args


def as_array(obj, dtype=None, device=None):
    """An ndarray on ``device`` holding ``obj`` (a Tensor, array, number or nested list)."""
    dtype = backend.as_dtype(dtype)
    if isinstance(obj, Tensor):
        obj = obj.data
    if device is None:
        device = backend.device_of(obj) if hasattr(obj, "shape") else backend.CPU
    else:
        device = backend.as_device(device)
    if backend.is_gpu_array(obj) or device.type == "cuda":
        array = backend.to_device(obj if hasattr(obj, "shape") else numpy.asarray(obj), device)
    else:
        array = numpy.asarray(obj)
    if array.dtype.kind == "O":
        raise TypeError(f"cannot make a tensor from {type(obj).__name__} (object array)")
    if dtype is None:
        if not hasattr(obj, "dtype") and array.dtype.kind == "f":
            dtype = backend.get_default_dtype()  # Python floats -> float32
        elif array.dtype.kind in "iu" and not hasattr(obj, "dtype"):
            dtype = backend.int64
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor holding ``data`` (always a copy, as ``torch.tensor``)."""
    array = as_array(data, dtype=dtype, device=device)
    if hasattr(data, "shape") and array is (data.data if isinstance(data, Tensor) else data):
        array = array.copy()
    out = Tensor._wrap(array, None, 0)
    if requires_grad:
        out.requires_grad = True
    return out


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (dtype kept)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, None, 0)


def _make(fill, shape, dtype, device, requires_grad):
    device = backend.as_device(device)
    dtype = backend.as_dtype(dtype) or backend.get_default_dtype()
    xp = backend.array_module(device)
    with backend.gpu_context(device):
        array = fill(xp, shape, dtype, device)
    out = Tensor._wrap(array, None, 0)
    if requires_grad:
        out.requires_grad = True
    return out


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros of ``shape``."""
    shape = shape_args(shape, "zeros")
    return _make(lambda xp, s, d, _: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones of ``shape``."""
    shape = shape_args(shape, "ones")
    return _make(lambda xp, s, d, _: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``shape``."""
    shape = shape_args(shape, "empty")
    return _make(lambda xp, s, d, _: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``."""
    shape = shape_args((shape,), "full")
    if dtype is None and isinstance(fill_value, bool):
        dtype = backend.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = backend.int64
    return _make(lambda xp, s, d, _: xp.full(s, fill_value, dtype=d), shape, dtype, device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Samples of the standard normal distribution N(0, 1)."""
    shape = shape_args(shape, "randn")
    return _make(
        lambda xp, s, d, dev: backend.generator(dev).standard_normal(s).astype(d, copy=False),
        shape, dtype, device, requires_grad,
    )


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Samples of the uniform distribution on [0, 1)."""
    shape = shape_args(shape, "rand")
    return _make(
        lambda xp, s, d, dev: backend.generator(dev).random(s).astype(d, copy=False),
        shape, dtype, device, requires_grad,
    )


def randint(low, high=None, size=(), dtype=None, device=None):
    """Integers drawn uniformly from [low, high) (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    shape = shape_args((size,), "randint")
    return _make(
        lambda xp, s, d, dev: backend.generator(dev).integers(low, high, size=s).astype(d, copy=False),
        shape, dtype or backend.int64, device, False,
    )


def randperm(n, dtype=None, device=None):
    """A random permutation of 0..n-1."""
    return _make(
        lambda xp, s, d, dev: backend.random_permutation(dev, n).astype(d, copy=False),
        (n,), dtype or backend.int64, device, False,
    )


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, end); integer arguments give int64, as PyTorch."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = backend.int64 if all(isinstance(v, int) for v in (start, end, step)) else None
    return _make(lambda xp, s, d, _: xp.arange(start, end, step, dtype=d), (), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end inclusive."""
    return _make(lambda xp, s, d, _: xp.linspace(start, end, steps, dtype=d), (), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix (n x m)."""
    return _make(lambda xp, s, d, _: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad)


def _like(fill, t, dtype, device, requires_grad):
    return fill(
        t.shape,
        dtype=t.dtype if dtype is None else dtype,
        device=t.device if device is None else device,
        requires_grad=requires_grad,
    )


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    """Zeros with the shape (and by default dtype and device) of ``t``."""
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    """Ones with the shape (and by default dtype and device) of ``t``."""
    return _like(ones, t, dtype, device, requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    """N(0, 1) samples with the shape (and by default dtype and device) of ``t``."""
    return _like(randn, t, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    """U[0, 1) samples with the shape (and by default dtype and device) of ``t``."""
    return _like(rand, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, with the shape (and by default dtype and device) of ``t``."""
    return full(
        t.shape, fill_value,
        dtype=t.dtype if dtype is None else dtype,
        device=t.device if device is None else device,
        requires_grad=requires_grad,
    )
