"""Activation layers: ``ReLU LeakyReLU ELU Sigmoid Tanh GELU Softmax LogSoftmax Maxout``.

Each is a thin module around the function of the same name in
``minicnn.nn.functional``, holding its settings (slope, alpha, axis).  The
``inplace`` flag of PyTorch's activations is accepted and shown in the repr;
minicnn always computes a new tensor, which gives the same values.
"""
from __future__ import annotations

import warnings

from .. import functional as F
from ..module import Module


class ReLU(Module):
    """max(0, x), elementwise."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x >= 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class GELU(Module):
    """x * Phi(x) (Phi: the standard normal CDF); ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', but got approximate={approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


def _legacy_softmax_axis(ndim, name):
    """PyTorch's rule when no axis is given (deprecated there too): 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(f"{name}: implicit choice of axis is deprecated; pass axis= (or dim=)", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class _SoftmaxBase(Module):
    """Holds the ``axis`` (``dim`` in PyTorch, accepted as an alias) the softmax normalises over."""

    def __init__(self, dim=None, *, axis=None):
        super().__init__()
        if axis is not None and dim is not None and axis != dim:
            raise TypeError(f"{type(self).__name__}: got both axis={axis!r} and dim={dim!r}; pass one of them")
        self.dim = dim if axis is None else axis

    def _axis(self, x):
        return _legacy_softmax_axis(x.ndim, type(self).__name__) if self.dim is None else self.dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x_i) / sum_j exp(x_j) along ``axis``: probabilities that sum to 1."""

    def forward(self, x):
        return F.softmax(x, axis=self._axis(x))


class LogSoftmax(_SoftmaxBase):
    """log softmax(x) along ``axis``, computed stably as x_i - logsumexp(x)."""

    def forward(self, x):
        return F.log_softmax(x, axis=self._axis(x))


class Maxout(Module):
    """Maximum over groups of ``pool_size`` consecutive channels (Goodfellow et al., 2013).

    x: (N, C, ...) -> (N, C / pool_size, ...) for ``axis=1``.
    """

    def __init__(self, pool_size, axis=1):
        super().__init__()
        if pool_size < 1:
            raise ValueError(f"Maxout: pool_size must be a positive integer, got {pool_size}")
        self.pool_size = pool_size
        self.axis = axis

    def forward(self, x):
        return F.maxout(x, self.pool_size, self.axis)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, axis={self.axis}"
