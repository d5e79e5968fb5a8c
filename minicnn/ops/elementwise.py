"""Elementwise math: ``exp log sqrt abs clip where maximum minimum relu``.

Each output element depends on the matching input element only, so each
backward is the output gradient times the local derivative, elementwise:
dL/dx = g * f'(x).
"""
from __future__ import annotations

from .. import kernels
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import DeviceError, get_array_module, to_device, to_numpy
from .arithmetic import _operands, sum_to_shape


class Exp(Function):
    """y = e^x;  dL/dx = g * y."""

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dL/dx = g / x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = sqrt(x);  dL/dx = g / (2 y)."""

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dL/dx = g * sign(x)  (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, g):
        return g * self.sign


class Relu(Function):
    """y = max(x, 0);  dL/dx = g where x > 0, else 0  (saves only the output, as Chainer
    does: y > 0 exactly where x > 0).  Kernels ``relu_forward``/``relu_backward``."""

    def forward(self, x):
        self.y = kernels.get("relu_forward", x)(x)
        return self.y

    def backward(self, g):
        return kernels.get("relu_backward", g)(g, self.y)


class Clip(Function):
    """y = min(max(x, low), high);  dL/dx = g where low <= x <= high, else 0."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            self.inside &= x >= self.low
        if self.high is not None:
            self.inside &= x <= self.high
        return xp.clip(x, self.low, self.high)

    def backward(self, g):
        return g * self.inside


class Where(Function):
    """y = a where cond else b;  dL/da = g * cond,  dL/db = g * (not cond)."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        xp = get_array_module(self.condition)
        self.a_shape, self.b_shape = getattr(a, "shape", ()), getattr(b, "shape", ())
        try:
            return xp.where(self.condition, a, b)
        except ValueError:
            raise ValueError(
                f"where: condition {self.condition.shape}, x {self.a_shape} and y {self.b_shape} "
                "cannot be broadcast together"
            ) from None

    def backward(self, g):
        zero = g.dtype.type(0)
        ga = sum_to_shape(get_array_module(g).where(self.condition, g, zero), self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(get_array_module(g).where(self.condition, zero, g), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Maximum(Function):
    """y = max(a, b) elementwise;  the gradient goes to the larger operand and is
    split in half on ties (as PyTorch):  dL/da = g * ([a > b] + [a == b] / 2)."""

    larger = True

    def forward(self, a, b):
        xp = get_array_module(a if hasattr(a, "shape") else b)
        try:
            wins = (a > b) if self.larger else (a < b)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__.lower()}: shapes {getattr(a, 'shape', ())} and "
                f"{getattr(b, 'shape', ())} cannot be broadcast together"
            ) from None
        self.share_a = wins + 0.5 * (a == b)
        self.a_shape, self.b_shape = getattr(a, "shape", ()), getattr(b, "shape", ())
        return xp.maximum(a, b) if self.larger else xp.minimum(a, b)

    def backward(self, g):
        share_a = self.share_a.astype(g.dtype, copy=False)
        ga = sum_to_shape(g * share_a, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(g * (1 - share_a), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Minimum(Maximum):
    """y = min(a, b) elementwise; the gradient goes to the smaller operand (halved on ties)."""

    larger = False


# ------------------------------------------------------------- public functions
def exp(x):
    """e^x elementwise."""
    return Exp.apply(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x):
    """Square root elementwise."""
    return Sqrt.apply(x)


def abs(x):
    """|x| elementwise."""
    return Abs.apply(x)


def relu(x):
    """max(x, 0) elementwise."""
    return Relu.apply(x)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either bound may be None).  Alias: ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, low=min, high=max)


clamp = clip


def where(condition, x, y):
    """Elementwise ``x if condition else y`` (condition: a bool tensor or array)."""
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    if isinstance(condition, Tensor):
        if like is not None and condition.device != like.device:
            raise DeviceError(
                f"where: condition {tuple(condition.shape)} is on {condition.device} but the values "
                f"are on {like.device}; move the condition with .to(device) first"
            )
        condition = condition.data
    elif like is not None:
        condition = to_device(condition if hasattr(condition, "shape") else to_numpy(condition), like.device)
    else:
        condition = get_array_module(condition).asarray(condition)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {condition.dtype}")
    x, y = _operands(x, y) if isinstance(x, Tensor) or isinstance(y, Tensor) else (x, y)
    return Where.apply(x, y, condition=condition)


def maximum(a, b):
    """Elementwise larger of a and b (broadcasting)."""
    return Maximum.apply(*_operands(a, b))


def minimum(a, b):
    """Elementwise smaller of a and b (broadcasting)."""
    return Minimum.apply(*_operands(a, b))
