"""``Function``: one differentiable operation, forward and backward on raw arrays.

An op is a subclass with two methods::

    class Mul(Function):
        def forward(self, a, b):           # arrays in, array(s) out
            self.a, self.b = a, b          # save what backward needs, on self
            return a * b
        def backward(self, grad):          # dL/d(out) in, dL/d(input) per input out
            return grad * self.b, grad * self.a

``Mul.apply(x, y)`` unwraps the tensors, runs ``forward``, wraps the result in a
``Tensor`` and, when grad mode is on and some input requires grad, records the
edge from the output back to the inputs.  The graph is the chain of these
``Function`` objects; ``engine.backward`` walks it in reverse.

Inputs that are not tensors (Python numbers, ``axis=`` values passed
positionally) go to ``forward`` unchanged and never receive a gradient.
Tensors of one op must share a device (``DeviceError`` otherwise), and an
allocation that fails inside ``forward`` or ``backward`` surfaces as
``minicnn.OutOfMemoryError`` naming the op and the requested size; it happens
before any optimizer step, so parameters are left as they were.
``backward`` returns one gradient per positional input (``None`` where there is
none or it is not needed: ``self.needs_input_grad[i]`` says which are).  A
function with several outputs receives one gradient per output, ``None`` for
outputs that did not reach the loss.
"""
from __future__ import annotations

import threading

from .. import backend

_state = threading.local()


def is_grad_enabled():
    """False inside ``no_grad()``: no graph is recorded there."""
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode):
    _state.enabled = bool(mode)


class no_grad:
    """Context manager (and decorator) that records no graph: for evaluation
    and for in-place parameter updates (``p -= lr * p.grad``)."""

    _mode = False

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self._mode)

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Turns graph recording back on inside a ``no_grad`` block."""

    _mode = True


class Function:
    """Base class of every differentiable operation (see the module docstring).

    Graph bookkeeping lives in slots; whatever ``forward`` saves on ``self`` is
    in ``__dict__`` and is dropped by ``release()`` once backward has used it.
    """

    __slots__ = ("next_edges", "needs_input_grad", "released", "__dict__", "__weakref__")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors, recording the graph when it is needed."""
        fn = cls(**params) if params else cls()
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if len(tensors) > 1:
            _check_same_device(cls, tensors)
        try:
            outputs = fn.forward(*arrays)
        except backend.OUT_OF_MEMORY_ERRORS as exc:
            raise_out_of_memory(f"{cls.__name__}.forward", arrays, exc)

        record = _state.__dict__.get("enabled", True) and any(t.requires_grad for t in tensors)
        if not record:
            if type(outputs) is tuple:
                return tuple(Tensor._wrap(out, None, 0) for out in outputs)
            return Tensor._wrap(outputs, None, 0)

        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        fn.needs_input_grad = needs
        fn.next_edges = tuple(x._edge() if need else None for x, need in zip(inputs, needs))
        fn.released = False
        if type(outputs) is tuple:
            return tuple(Tensor._wrap(out, fn, i) for i, out in enumerate(outputs))
        return Tensor._wrap(outputs, fn, 0)

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *grad_outputs):
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    def release(self):
        """Free the arrays saved for backward (called after backward ran)."""
        self.__dict__.clear()
        self.released = True

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} backward>"


def raise_out_of_memory(op, arrays, exc):
    """Re-raise an allocation failure inside ``op`` as ``backend.OutOfMemoryError``
    naming the op, its input shapes and the requested size (an error that is
    already one, from an op nested inside this one, passes through unchanged)."""
    if isinstance(exc, backend.OutOfMemoryError):
        raise exc
    raise backend.out_of_memory(op, arrays, exc) from exc


def _check_same_device(cls, tensors):
    """Raise a clear error when the tensors of one op live on different devices.

    All-NumPy inputs (the common case) are recognised by type alone.
    """
    kind = type(tensors[0].data)
    if kind is backend.numpy.ndarray and all(type(t.data) is kind for t in tensors):
        return
    devices = [backend.device_of(t.data) for t in tensors]
    if any(d != devices[0] for d in devices):
        listing = ", ".join(f"{tuple(t.shape)} on {d}" for t, d in zip(tensors, devices))
        raise backend.DeviceError(
            f"{cls.__name__}: expected all tensors on one device, got {listing}; "
            "move them with .to(device) first"
        )


from .tensor import Tensor  # noqa: E402  (Tensor needs Function; resolved at the end)
