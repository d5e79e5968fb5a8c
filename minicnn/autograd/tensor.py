"""``Tensor``: an array plus what reverse-mode differentiation needs.

* ``data``: the values, a NumPy (cpu) or CuPy (cuda) ndarray;
* ``grad``: dL/d(this tensor) after ``loss.backward()`` (leaves only), a Tensor;
* ``requires_grad``: whether gradients should flow to it;
* ``grad_fn``: the ``Function`` that made it (None for leaves).

Every method that computes is a thin call into ``minicnn.ops``; the math and
its derivative live there, one file per family.
"""
from __future__ import annotations

import operator

import numpy

from .. import backend


class Tensor:
    """A multi-dimensional array that records the operations applied to it."""

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "_output_nr", "__weakref__")
    __array_ufunc__ = None  # ``ndarray * tensor`` defers to Tensor.__rmul__
    __hash__ = object.__hash__  # tensors are keyed by identity (== is elementwise)

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        from ..factories import as_array

        self.data = as_array(data, dtype=dtype, device=device)
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _wrap(array, grad_fn, index):
        """Fast constructor used by ``Function.apply`` (no conversion, no checks)."""
        t = Tensor.__new__(Tensor)
        t.data = array
        t.grad = None
        if grad_fn is not None and array.dtype.kind != "f":
            grad_fn = None  # integer outputs (indices) carry no gradient
        t.grad_fn = grad_fn
        t._output_nr = index
        t._requires_grad = grad_fn is not None
        return t

    def _edge(self):
        """Where a consumer's gradient for this tensor goes (see engine)."""
        if self.grad_fn is not None:
            return (self.grad_fn, self._output_nr)
        return (self, None)

    # ------------------------------------------------------------ grad flags
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError(
                    "requires_grad can only be turned off on leaf tensors; use .detach() "
                    f"on this result of {self.grad_fn.name}"
                )
            return
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}; "
                "convert with .float() or .double() first"
            )
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self (freezing: ``requires_grad_(False)``)."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def detach(self):
        """The same values, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data, None, 0)

    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf of the graph and add it to ``leaf.grad``.

        ``grad`` is dL/d(self); it may be omitted only for a one-element tensor
        (the loss), where it is 1.  With ``retain_graph=True`` the saved arrays
        are kept so that backward can run through the graph again.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn (none of the "
                "tensors it was computed from had requires_grad=True, or it was made under no_grad)"
            )
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for a one-element (scalar) "
                    f"output, but this tensor has shape {tuple(self.shape)}; pass grad= of that shape"
                )
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            if isinstance(grad, Tensor):
                if grad.device != self.device:
                    raise backend.DeviceError(
                        f"backward: grad is on {grad.device} but the tensor is on {self.device}"
                    )
                grad = grad.data
            else:
                grad = xp.asarray(grad)
            if grad.shape != self.data.shape:
                raise RuntimeError(
                    f"backward: grad has shape {tuple(grad.shape)} but the tensor has shape "
                    f"{tuple(self.data.shape)}"
                )
            grad = grad.astype(self.data.dtype, copy=False)
        engine.backward(self, grad, retain_graph=retain_graph)

    # ------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_cuda(self):
        return backend.is_gpu_array(self.data)

    @property
    def T(self):
        return _ops.transpose(self)

    def size(self, axis=None, *, dim=None):
        """The shape, or the length of one axis (``t.size(0)``)."""
        axis = axis if dim is None else dim
        return self.data.shape if axis is None else self.data.shape[axis]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The values as a NumPy array (shares memory on the CPU, copies from a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {tuple(self.shape)}")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        out = backend.to_numpy(self.data)
        return out if dtype is None else out.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(
                f"only one-element integer tensors can be used as an index, got dtype "
                f"{self.dtype} and shape {tuple(self.shape)}"
            )
        return int(self.item())

    def to(self, *args, dtype=None, device=None):
        """Move to a device and/or cast to a dtype: ``t.to("cuda")``, ``t.to(mc.float64)``."""
        device, dtype = parse_to_arguments(args, device, dtype)
        out = self
        if device is not None:
            out = _ops.to_device(out, device)
        if dtype is not None:
            out = _ops.cast(out, dtype)
        return out

    def cpu(self):
        """A copy in host memory (self when already there); the graph goes through the move."""
        return _ops.to_device(self, "cpu")

    def cuda(self, device=None):
        """A copy on a GPU (``device``: an index, ``"cuda:N"`` or None for cuda:0); the
        gradient of the move is a move back."""
        if isinstance(device, int):
            device = backend.Device("cuda", device)
        return _ops.to_device(self, "cuda" if device is None else device)

    def type(self, dtype):
        return _ops.cast(self, dtype)

    def float(self):
        return _ops.cast(self, backend.float32)

    def double(self):
        return _ops.cast(self, backend.float64)

    def half(self):
        return _ops.cast(self, backend.float16)

    def long(self):
        return _ops.cast(self, backend.int64)

    def int(self):
        return _ops.cast(self, backend.int32)

    def bool(self):
        return _ops.cast(self, backend.bool_)

    def clone(self):
        return _ops.clone(self)

    # ------------------------------------------------------------ in place
    def _check_inplace(self, op):
        from .function import is_grad_enabled

        if self._requires_grad and is_grad_enabled():
            kind = "a leaf tensor that requires grad" if self.grad_fn is None else "a tensor in the graph"
            raise RuntimeError(
                f"{op}: in-place change of {kind}; do it under `with minicnn.no_grad():` "
                "(e.g. a parameter update) or on a detached copy"
            )

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, source):
        """Copy ``source``'s values into this tensor (shapes must broadcast)."""
        self._check_inplace("copy_")
        src = source.data if isinstance(source, Tensor) else source
        src = backend.to_device(src, self.device) if hasattr(src, "shape") else src
        self.data[...] = src
        return self

    def __setitem__(self, key, value):
        """``t[key] = value``; an array or tensor value is copied onto this tensor's
        device first (as ``copy_``)."""
        self._check_inplace("__setitem__")
        if isinstance(value, Tensor):
            if value.requires_grad and _grad_enabled():
                raise RuntimeError("__setitem__: the assigned value requires grad; assign value.detach()")
            value = value.data
        if isinstance(value, (list, tuple)):
            value = numpy.asarray(value)
        if hasattr(value, "shape"):
            value = backend.to_device(value, self.device)
        self.data[_ops.shape._index_key(key, self)] = value

    def _operand(self, other, op):
        """The raw value of ``other`` for an array op with this tensor outside the
        graph: a tensor on another device is an error naming both devices; a plain
        array is copied onto this tensor's device; numbers pass unchanged."""
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise backend.DeviceError(
                    f"{op}: expected both tensors on one device, got {tuple(self.shape)} on {self.device} "
                    f"and {tuple(other.shape)} on {other.device}; move one with .to(device) first"
                )
            return other.data
        if hasattr(other, "shape") and hasattr(other, "dtype"):
            return backend.to_device(other, self.device)
        return other

    def _inplace(self, op, other, name):
        """``t -= x`` etc.: in place when no graph is involved (e.g. under no_grad),
        otherwise an error for leaves that require grad, as PyTorch."""
        other_needs = isinstance(other, Tensor) and other.requires_grad
        if _grad_enabled() and (self._requires_grad or other_needs):
            if self.grad_fn is None:
                self._check_inplace(name)
            return NotImplemented  # inside a graph: Python falls back to ``t = t + x``
        out = op(self.data, self._operand(other, name))
        if out.shape != self.data.shape:
            raise ValueError(f"{name}: result shape {out.shape} differs from the tensor's {self.data.shape}")
        self.data[...] = out
        return self

    def __iadd__(self, other):
        return self._inplace(operator.add, other, "+=")

    def __isub__(self, other):
        return self._inplace(operator.sub, other, "-=")

    def __imul__(self, other):
        return self._inplace(operator.mul, other, "*=")

    def __itruediv__(self, other):
        return self._inplace(operator.truediv, other, "/=")

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __getitem__(self, key):
        return _ops.getitem(self, key)

    # comparisons: bool tensors, outside the graph
    def _compare(self, other, op):
        return Tensor._wrap(op(self.data, self._operand(other, f"comparison {op.__name__}")), None, 0)

    def __eq__(self, other):
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        return self._compare(other, operator.ne)

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def any(self):
        return Tensor._wrap(self.data.any(), None, 0)

    def all(self):
        return Tensor._wrap(self.data.all(), None, 0)

    # ------------------------------------------------------------ math
    def add(self, other):
        return _ops.add(self, other)

    def sub(self, other):
        return _ops.sub(self, other)

    def mul(self, other):
        return _ops.mul(self, other)

    def div(self, other):
        return _ops.div(self, other)

    def pow(self, other):
        return _ops.pow(self, other)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def neg(self):
        return _ops.neg(self)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def relu(self):
        return _ops.relu(self)

    def clip(self, min=None, max=None):
        return _ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=False, *, unbiased=None, correction=None, dim=None, keepdim=None):
        return _ops.var(self, axis, keepdims, unbiased=unbiased, correction=correction, dim=dim, keepdim=keepdim)

    def std(self, axis=None, keepdims=False, *, unbiased=None, correction=None, dim=None, keepdim=None):
        return _ops.std(self, axis, keepdims, unbiased=unbiased, correction=correction, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def amax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.amax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def amin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.amin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        return _ops.reshape(self, *shape)

    def transpose(self, axis0=None, axis1=None, *, dim0=None, dim1=None):
        return _ops.transpose(self, axis0, axis1, dim0=dim0, dim1=dim1)

    def permute(self, *axes):
        return _ops.permute(self, *axes)

    def flatten(self, start_axis=None, end_axis=None, *, start_dim=None, end_dim=None):
        return _ops.flatten(self, start_axis, end_axis, start_dim=start_dim, end_dim=end_dim)

    def squeeze(self, axis=None, *, dim=None):
        return _ops.squeeze(self, axis, dim=dim)

    def unsqueeze(self, axis=None, *, dim=None):
        return _ops.unsqueeze(self, axis, dim=dim)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def split(self, split_size_or_sections, axis=None, *, dim=None):
        return _ops.split(self, split_size_or_sections, axis, dim=dim)

    # ------------------------------------------------------------ printing
    def __repr__(self):
        body = numpy.array2string(
            backend.to_numpy(self.data), separator=", ", prefix="tensor(", precision=4
        )
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.data.dtype not in (backend.get_default_dtype(), backend.int64, backend.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"


def parse_to_arguments(args, device=None, dtype=None):
    """The positional arguments of ``.to(...)`` (tensors and modules alike): device
    strings or ``Device`` objects, dtypes, or a tensor whose device and dtype to match."""
    for arg in args:
        if isinstance(arg, (str, backend.Device)):
            device = arg
        elif isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        else:
            dtype = arg
    return device, dtype


def _grad_enabled():
    from .function import is_grad_enabled

    return is_grad_enabled()


from . import engine  # noqa: E402  (engine and ops need Tensor defined first)
from .. import ops as _ops  # noqa: E402
