"""Activations: ``relu leaky_relu elu sigmoid tanh gelu softplus softmax log_softmax
logsumexp maxout``.

A convolution or a linear layer is a linear map; a stack of them is still one
linear map.  The nonlinearity between them is what lets a network bend its
decision boundary.  The elementwise activations below have backward
``dL/dx = g * f'(x)``; ``softmax``, ``log_softmax`` and ``logsumexp`` couple the
elements along one axis, and ``maxout`` takes a max over groups of channels.

Which derivative to save.  Where ``f'`` is cheap to get from the output
(sigmoid: ``y (1 - y)``, tanh: ``1 - y^2``) only the output is kept, as Chainer
does; otherwise the input (or a mask) is kept.

Numerical stability.  ``exp`` overflows float32 past x = 88 and float64 past
709, so nothing here ever exponentiates a large positive number: sigmoid uses
``e^{-|x|}``, softmax subtracts the row maximum first, softplus is written as
``max(x, 0) + log1p(e^{-|x|})``.
"""
from __future__ import annotations

import math
import warnings

from ..autograd.function import Function
from ..backend import get_array_module
from ._args import normalize_axes, resolve_axis, resolve_keepdims
from .elementwise import relu

__all__ = [
    "relu",
    "leaky_relu",
    "elu",
    "sigmoid",
    "tanh",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "logsumexp",
    "maxout",
]


class LeakyRelu(Function):
    """y = x if x > 0 else a x  (a = ``negative_slope``);  dL/dx = g * (1 if x > 0 else a)."""

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        return xp.where(self.positive, x, x * self.slope)

    def backward(self, g):
        return get_array_module(g).where(self.positive, g, g * self.slope)


class Elu(Function):
    """y = x if x > 0 else a (e^x - 1);  dL/dx = g * (1 if x > 0 else y + a).

    For x <= 0, dy/dx = a e^x = y + a, so the output is all backward needs
    (plus the sign mask).
    """

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        # expm1 of min(x, 0): accurate near 0 and never overflows in the unused branch
        self.y = xp.where(self.positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        return xp.where(self.positive, g, g * (self.y + self.alpha))


def _sigmoid(x):
    """1 / (1 + e^-x) computed from e^{-|x|} <= 1, so it never overflows:
    x >= 0: 1 / (1 + e^{-x});   x < 0: e^{x} / (1 + e^{x})."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dL/dx = g * y (1 - y).

    The derivative is at most 1/4 (at x = 0) and tends to 0 for large |x|: a
    saturated sigmoid passes almost no gradient back.
    """

    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh(x) = 2 sigmoid(2x) - 1;  dL/dx = g * (1 - y^2)."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Softplus(Function):
    """y = (1/b) log(1 + e^{b x}), and y = x where b x > threshold (as PyTorch);
    dL/dx = g * sigmoid(b x)  (1 above the threshold).

    Stable form: log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}).
    """

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = get_array_module(x)
        z = x * self.beta
        self.linear = z > self.threshold
        self.z = z
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        return xp.where(self.linear, x, soft)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.where(self.linear, g, g * _sigmoid(self.z))


# ------------------------------------------------------------------------ GELU
# erf(x) by W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
# approximations for the error function", Math. Comp. 23 (1969) 631-638; the
# coefficients of Netlib SPECFUN CALERF).  NumPy has no erf; this is accurate
# to about 1e-16, written against ``xp`` so the same lines run on the GPU.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)


def _ratio(t, num, den):
    """Cody's rational function: (((num[-1] t + num[0]) t + ...) t + num[k]) over
    (((t + den[0]) t + ...) t + den[k]), with k = len(den) - 1."""
    xnum, xden = num[-1] * t, t
    for a, b in zip(num[:-2], den[:-1]):
        xnum = (xnum + a) * t
        xden = (xden + b) * t
    return (xnum + num[-2]) / (xden + den[-1])


def _erf(x):
    """erf(x) elementwise:  |x| <= 0.46875: x R1(x^2);
    |x| <= 4: 1 - e^{-x^2} R2(|x|);   |x| > 4: 1 - e^{-x^2} (1/sqrt(pi) - R3(1/x^2)/x^2) / |x|."""
    xp = get_array_module(x)
    y = xp.abs(x)
    small = x * _ratio(xp.minimum(y, 0.46875) ** 2, _ERF_A, _ERF_B)
    mid = _ratio(xp.clip(y, 0.46875, 4.0), _ERF_C, _ERF_D)
    big_y = xp.clip(y, 4.0, 30.0)
    inv = 1 / (big_y * big_y)
    big = (1 / math.sqrt(math.pi) - inv * _ratio(inv, _ERF_P, _ERF_Q)) / big_y
    # e^{-y^2} without losing digits: split y^2 = r^2 + (y - r)(y + r), r = floor(16 y)/16
    r = xp.floor(xp.minimum(y, 30.0) * 16) / 16
    expm = xp.exp(-r * r) * xp.exp(-(y - r) * (y + r))
    erfc = expm * xp.where(y <= 4.0, mid, big)
    large = xp.sign(x) * (1 - erfc)
    return xp.where(y <= 0.46875, small, large).astype(x.dtype, copy=False)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


class Gelu(Function):
    """Gaussian error linear unit: y = x Phi(x), Phi the standard normal CDF.

    exact ("none"):  Phi(x) = (1 + erf(x / sqrt 2)) / 2,
                     dL/dx = g * (Phi(x) + x phi(x)),  phi(x) = e^{-x^2/2} / sqrt(2 pi);
    "tanh":          y = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3),
                     dL/dx = g * ((1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2),  t = tanh u.
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        if self.approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        return x * self.cdf

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return g * (self.cdf + x * pdf)


# ------------------------------------------------- softmax and friends (one axis)
def _shift_by_max(x, axes):
    """(x - m, m) with m = max of x over ``axes`` (kept as size 1).

    The trick behind every stable softmax: e^{x_i - m} <= 1 never overflows,
    and the largest term is exactly 1, so the sum never underflows to 0.  A
    max that is not finite (a row of -inf) is replaced by 0.
    """
    xp = get_array_module(x)
    m = x.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    return x - m, m


def logsumexp_array(x, axes):
    """log sum_i e^{x_i} = m + log sum_i e^{x_i - m} over ``axes`` (kept as size 1), on arrays."""
    xp = get_array_module(x)
    shifted, m = _shift_by_max(x, axes)
    return m + xp.log(xp.exp(shifted).sum(axis=axes, keepdims=True))


def log_softmax_array(x, axis):
    """x_i - logsumexp(x) = (x_i - m) - log sum_j e^{x_j - m} along ``axis``, on arrays.

    Subtracting m before the log keeps the digits that m + log(...) would lose
    to rounding (float32 at 1000 has a resolution of 6e-5).  Shared by
    ``log_softmax`` and the fused cross-entropy.
    """
    xp = get_array_module(x)
    shifted, _ = _shift_by_max(x, axis)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y_i = e^{x_i - m} / sum_j e^{x_j - m}  along ``axis`` (m = max_j x_j, for stability).

    Backward (Jacobian dy_i/dx_j = y_i ([i = j] - y_j)):
        dL/dx = y * (g - sum_j g_j y_j).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        e = get_array_module(x).exp(_shift_by_max(x, self.axis)[0])
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x)  along ``axis``.

    Backward (dy_i/dx_j = [i = j] - softmax_j):
        dL/dx = g - softmax(x) * sum_i g_i,   softmax(x) = e^y.
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = log_softmax_array(x, self.axis)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True)


class LogSumExp(Function):
    """out = log sum_i e^{x_i} over ``axes``;  dL/dx_i = g * softmax(x)_i = g * e^{x_i - out}."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.x = x
        self.out = logsumexp_array(x, self.axes)  # keepdims shape
        if self.keepdims:
            return self.out
        return self.out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, g):
        xp = get_array_module(g)
        g = g.reshape(self.out.shape)
        return g * xp.exp(self.x - self.out)


class Maxout(Function):
    """Maxout (Goodfellow et al., 2013): the max over groups of k consecutive channels.

    x: (N, C, ...) with C = G k  ->  y: (N, G, ...),   y[n, j] = max_{i < k} x[n, j k + i].
    Backward: the gradient goes to the winner of each group (the first one on ties):
        dL/dx[n, j k + i] = g[n, j] * [i = argmax].
    The grouping is a reshape (N, G k, ...) -> (N, G, k, ...): the max runs over the new axis.
    """

    def __init__(self, pool_size, axis):
        self.k, self.axis = pool_size, axis

    def forward(self, x):
        xp = get_array_module(x)
        a = self.axis
        self.in_shape = x.shape
        grouped = x.reshape(x.shape[:a] + (x.shape[a] // self.k, self.k) + x.shape[a + 1:])
        self.index = xp.expand_dims(grouped.argmax(axis=a + 1), a + 1)  # (..., G, 1, ...)
        return xp.take_along_axis(grouped, self.index, axis=a + 1).squeeze(a + 1)

    def backward(self, g):
        xp = get_array_module(g)
        a = self.axis
        shape = [1] * (len(self.in_shape) + 1)
        shape[a + 1] = self.k
        positions = xp.arange(self.k).reshape(shape)
        grad = xp.where(positions == self.index, xp.expand_dims(g, a + 1), 0).astype(g.dtype, copy=False)
        return grad.reshape(self.in_shape)


# ------------------------------------------------------------- public functions
def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x (``inplace`` is accepted and ignored)."""
    return LeakyRelu.apply(x, negative_slope=negative_slope)


def elu(x, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (e^x - 1) (``inplace`` is accepted and ignored)."""
    return Elu.apply(x, alpha=alpha)


def sigmoid(x):
    """1 / (1 + e^-x), finite for any x."""
    return Sigmoid.apply(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def gelu(x, approximate="none"):
    """x * Phi(x) (``approximate="none"``, through erf) or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got approximate={approximate!r}")
    return Gelu.apply(x, approximate=approximate)


def softplus(x, beta=1.0, threshold=20.0):
    """(1/beta) log(1 + e^{beta x}); x itself where beta x > threshold (as PyTorch)."""
    return Softplus.apply(x, beta=beta, threshold=threshold)


def _softmax_axis(x, axis, dim, op):
    """One axis for softmax-like ops.  Without one, PyTorch's deprecated implicit
    choice (axis 0 for 0-, 1- and 3-d inputs, else 1) is used, with a warning."""
    axis = resolve_axis(axis, dim, op)
    if axis is None:
        warnings.warn(
            f"{op}: implicit axis choice is deprecated (as in PyTorch); pass axis= (or dim=)",
            UserWarning,
            stacklevel=3,
        )
        axis = 0 if x.ndim in (0, 1, 3) else 1
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be one int, got {axis!r}")
    (axis,) = normalize_axes(axis, x.ndim, op)
    return axis


def softmax(x, axis=None, *, dim=None):
    """e^{x_i} / sum_j e^{x_j} along ``axis`` (stable for any input size)."""
    return Softmax.apply(x, axis=_softmax_axis(x, axis, dim, "softmax"))


def log_softmax(x, axis=None, *, dim=None):
    """x_i - logsumexp(x) along ``axis``: the log of softmax without its underflow."""
    return LogSoftmax.apply(x, axis=_softmax_axis(x, axis, dim, "log_softmax"))


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log sum e^x over ``axis`` (an int, a tuple, or None for all axes)."""
    axes = normalize_axes(resolve_axis(axis, dim, "logsumexp"), x.ndim, "logsumexp")
    return LogSumExp.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def maxout(x, pool_size, axis=1, *, dim=None):
    """Max over groups of ``pool_size`` consecutive channels: (N, G k, ...) -> (N, G, ...)."""
    (axis,) = normalize_axes(resolve_axis(axis, dim, "maxout"), x.ndim, "maxout")
    if not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"maxout: pool_size must be a positive int, got {pool_size!r}")
    if x.shape[axis] % pool_size:
        raise ValueError(
            f"maxout: axis {axis} of input shape {tuple(x.shape)} has {x.shape[axis]} channels, "
            f"not a multiple of pool_size={pool_size}"
        )
    return Maxout.apply(x, pool_size=pool_size, axis=axis)
