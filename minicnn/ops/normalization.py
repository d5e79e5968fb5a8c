"""Batch normalisation (Ioffe and Szegedy, 2015).

For every channel c, over the m = N * H * W values of a mini-batch
(x: (N, C) or (N, C, *spatial); the statistics are per channel):

    mu      = (1/m) sum_i x_i                       batch mean
    var     = (1/m) sum_i (x_i - mu)^2              batch variance (biased)
    xhat_i  = (x_i - mu) / sqrt(var + eps)          normalise
    y_i     = gamma xhat_i + beta                   scale and shift (learned)

In training the batch statistics are used, and the running estimates that
evaluation will use are updated in place (PyTorch's convention, momentum 0.1):

    running_mean <- (1 - momentum) running_mean + momentum mu
    running_var  <- (1 - momentum) running_var  + momentum var * m / (m - 1)   (unbiased)

In evaluation, mu and var are the running estimates: constants, so the op is
an affine map per channel and its backward is dL/dx = g gamma / sqrt(var + eps).
"""
from __future__ import annotations

from .. import kernels
from ..autograd.function import Function, is_grad_enabled
from ..backend import DeviceError, get_array_module

__all__ = ["batch_norm"]


class BatchNorm(Function):
    """y = gamma xhat + beta with xhat = (x - mu) / sigma, sigma = sqrt(var + eps).

    x: (N, C, *) -> y: (N, C, *);  gamma, beta: (C,) or None;  sums run over the
    m values of a channel (axes 0, 2, 3, ...).  The array work is in the
    kernels ``batch_norm_statistics``, ``batch_norm_affine`` and
    ``batch_norm_backward`` (``kernels/batchnorm.py``: the same formulas).
    It saves x, not xhat (as PyTorch): backward recomputes xhat from it.

    Backward in training (mu and sigma depend on every x_i of the channel):
        dL/dgamma = sum_i dy_i xhat_i,      dL/dbeta = sum_i dy_i,
        dL/dx_i   = (1/m) gamma sigma^-1 (m dy_i - sum_j dy_j - xhat_i sum_j dy_j xhat_j).
    In evaluation (mu, sigma constants):  dL/dx_i = gamma sigma^-1 dy_i.
    """

    def __init__(self, running_mean, running_var, training, momentum, eps, keep_input=True):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps
        self.keep_input = keep_input  # False when no gradient will be taken (no_grad, frozen evaluation)

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        if self.training:
            mean, var = kernels.get("batch_norm_statistics", x)(x)  # one fused pass
        else:  # a copy: later training steps update the running arrays in place
            mean, var = self.running_mean.astype(x.dtype), self.running_var
        mean = mean.astype(x.dtype, copy=False)
        inv_std = (1 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)  # (C,)
        scale = inv_std if gamma is None else inv_std * gamma
        y = kernels.get("batch_norm_affine", x)(x, mean, scale, beta)  # y = (x - mu) (gamma / sigma) + beta
        if self.training:  # last, so that a failure above (out of memory) leaves them untouched
            self._update_running_stats(mean, var, x.size // x.shape[1])
        # backward recomputes xhat = (x - mu) / sigma from x (PyTorch saves the input too)
        self.x = x if self.keep_input else None
        self.mean, self.inv_std, self.scale = mean, inv_std, scale
        return y

    def _update_running_stats(self, mean, var, m):
        """The exponential moving averages, in place on the running arrays."""
        a = self.momentum
        if self.running_mean is not None:
            self.running_mean *= 1 - a
            self.running_mean += a * mean
        if self.running_var is not None:
            self.running_var *= 1 - a
            self.running_var += a * var * (m / (m - 1))

    def backward(self, g):
        x, mean, inv_std, scale = self.x, self.mean, self.inv_std, self.scale  # (C,) each but x
        needs = self.needs_input_grad
        if self.training and needs[0]:
            gx, sum_g, sum_g_xhat = kernels.get("batch_norm_backward", g)(g, x, mean, inv_std, scale)
        else:  # evaluation: an affine map per channel, dL/dx = g * scale
            gx = g * scale.reshape(_channel_shape(g)) if needs[0] else None
            axes = (0, *range(2, g.ndim))
            sum_g = g.sum(axis=axes) if needs[2] else None
            if needs[1]:
                xhat = (x - mean.reshape(_channel_shape(x))) * inv_std.reshape(_channel_shape(x))
                sum_g_xhat = (g * xhat).sum(axis=axes)
        return gx, sum_g_xhat if needs[1] else None, sum_g if needs[2] else None


def _channel_shape(x):
    """(1, C, 1, ...): the shape that broadcasts a (C,) vector against x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_channel_vector(name, t, x):
    """``t`` (running stat, weight or bias) must be None or a (C,) tensor on x's device."""
    if t is None:
        return
    if tuple(t.shape) != (x.shape[1],):
        raise ValueError(
            f"batch_norm: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but {name} has "
            f"shape {tuple(t.shape)} (expected ({x.shape[1]},))"
        )
    if t.device != x.device:
        raise DeviceError(f"batch_norm: input is on {x.device} but {name} is on {t.device}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over axis 1 of x: (N, C) or (N, C, *spatial).

    ``running_mean``/``running_var``: (C,) tensors (or None) updated in place
    when ``training``; used for normalising when not.  ``weight``/``bias``:
    gamma and beta, (C,) tensors or None.  Every check happens before the
    running statistics are touched.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got {tuple(x.shape)}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channel_vector(name, t, x)
    if training:
        if x.numel() <= x.shape[1]:  # m = numel / C values per channel
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(x.shape)}"
            )
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
    keep_input = is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias))
    return BatchNorm.apply(
        x,
        weight,
        bias,
        keep_input=keep_input,
        running_mean=None if running_mean is None else running_mean.data,
        running_var=None if running_var is None else running_var.data,
        training=bool(training),
        momentum=momentum,
        eps=eps,
    )
