"""Arithmetic: ``+ - * / ** @`` and negation, with NumPy broadcasting.

Broadcasting and its gradient.  When ``a`` of shape (3, 1) meets ``b`` of shape
(4,), both are stretched to (3, 4).  Every element of ``a`` was used 4 times,
so its gradient is the sum of the 4 gradients it fed: backward sums the output
gradient over the stretched axes (``sum_to_shape``).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, ignore_float_errors


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so that
    the result has ``shape`` (the inverse of broadcasting, for gradients)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


def _shape(x):
    return getattr(x, "shape", ())


def _broadcast_error(op, a, b):
    return ValueError(
        f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be broadcast together "
        "(trailing dimensions must be equal or 1)"
    )


class _Binary(Function):
    """Elementwise op of two operands; ``compute`` is the math, forward adds the
    clear broadcasting error and remembers the input shapes for ``sum_to_shape``."""

    def forward(self, a, b):
        try:
            out = self.compute(a, b)
        except ValueError:
            raise _broadcast_error(self.symbol, a, b) from None
        self.a_shape, self.b_shape = _shape(a), _shape(b)
        return out


class Add(_Binary):
    """out = a + b;  dL/da = g,  dL/db = g (summed back to each shape)."""

    symbol = "add"

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        return sum_to_shape(g, self.a_shape), sum_to_shape(g, self.b_shape)


class Sub(_Binary):
    """out = a - b;  dL/da = g,  dL/db = -g."""

    symbol = "sub"

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        gb = -sum_to_shape(g, self.b_shape) if self.needs_input_grad[1] else None
        return sum_to_shape(g, self.a_shape), gb


class Mul(_Binary):
    """out = a * b;  dL/da = g * b,  dL/db = g * a."""

    symbol = "mul"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga = sum_to_shape(g * self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(g * self.a, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(_Binary):
    """out = a / b;  dL/da = g / b,  dL/db = -g * a / b**2."""

    symbol = "div"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = sum_to_shape(g / self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = sum_to_shape(-g * self.a / (self.b * self.b), self.b_shape)
        return ga, gb


class Pow(_Binary):
    """out = a ** b;  dL/da = g * b * a**(b-1),  dL/db = g * out * log(a).

    ``d/db`` is taken as 0 where ``a == 0`` (as PyTorch does), where log(a) is -inf.
    """

    symbol = "pow"

    def compute(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to_shape(g * b * a ** (b - 1), self.a_shape)
        if self.needs_input_grad[1]:
            xp = get_array_module(a)
            with ignore_float_errors(xp):
                log_a = xp.where(a == 0, 0, xp.log(xp.where(a == 0, 1, a)))
            gb = sum_to_shape(g * self.out * log_a, self.b_shape)
        return ga, gb


class Neg(Function):
    """out = -a;  dL/da = -g."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class MatMul(Function):
    """out = a @ b with NumPy's rules (1-d operands, batched stacks that broadcast).

    Shapes: (..., n, k) @ (..., k, m) -> (..., n, m).  Backward:
    dL/da = g @ b^T,  dL/db = a^T @ g, summed over broadcast batch axes.  A 1-d
    ``a`` is treated as (1, k) and a 1-d ``b`` as (k, 1), then squeezed back.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: both operands must have at least 1 dimension, got shapes "
                f"{a.shape} and {b.shape}"
            )
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not align: "
                f"{k_a} (last axis of the first) != {k_b} "
                f"({'second-to-last' if b.ndim > 1 else 'only'} axis of the second)"
            )
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise ValueError(
                f"matmul: batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast"
            ) from None

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a  # (.., n, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (.., k, m)
        if b.ndim == 1:  # restore the squeezed axes of the output: (.., n, m)
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to_shape(g @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to_shape(a2.swapaxes(-1, -2) @ g, b2.shape).reshape(b.shape)
        return ga, gb


# ------------------------------------------------------------- public functions
def _operand(x, like):
    """Python numbers go to the op as they are (they keep the tensor's dtype);
    arrays and other objects become constant tensors on ``like``'s device."""
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    from ..factories import tensor

    return tensor(x, device=like.device)


def _operands(a, b):
    like = a if isinstance(a, Tensor) else b
    return _operand(a, like), _operand(b, like)


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(*_operands(a, b))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(*_operands(a, b))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul.apply(*_operands(a, b))


def div(a, b):
    """a / b with broadcasting."""
    return Div.apply(*_operands(a, b))


def pow(a, b):
    """a ** b with broadcasting (either may be a number)."""
    return Pow.apply(*_operands(a, b))


def neg(a):
    """-a."""
    return Neg.apply(a)


def matmul(a, b):
    """a @ b (NumPy's matmul rules: 1-d operands, broadcast batch axes)."""
    return MatMul.apply(*_operands(a, b))
