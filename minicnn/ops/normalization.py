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

from ..autograd.function import Function
from ..backend import DeviceError, get_array_module

__all__ = ["batch_norm"]


class BatchNorm(Function):
    """y = gamma xhat + beta with xhat = (x - mu) / sigma, sigma = sqrt(var + eps).

    x: (N, C, *) -> y: (N, C, *);  gamma, beta: (C,) or None;  sums run over the
    m values of a channel (axes 0, 2, 3, ...).

    Backward in training (mu and sigma depend on every x_i of the channel):
        dL/dgamma = sum_i dy_i xhat_i,      dL/dbeta = sum_i dy_i,
        dL/dx_i   = (1/m) gamma sigma^-1 (m dy_i - sum_j dy_j - xhat_i sum_j dy_j xhat_j).
    In evaluation (mu, sigma constants):  dL/dx_i = gamma sigma^-1 dy_i.
    """

    def __init__(self, running_mean, running_var, training, momentum, eps):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # a (C,) vector, broadcastable to x
        if self.training:
            m = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            var = (centered * centered).mean(axis=axes)
            self._update_running_stats(mean, var, m)
        else:
            mean, var = self.running_mean, self.running_var
            centered = x - mean.reshape(shape).astype(x.dtype, copy=False)
        inv_std = (1 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False).reshape(shape)
        xhat = centered * inv_std
        self.axes, self.shape = axes, shape
        self.xhat, self.inv_std, self.gamma = xhat, inv_std, gamma
        y = xhat if gamma is None else xhat * gamma.reshape(shape)
        return y if beta is None else y + beta.reshape(shape)

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
        axes, shape, xhat = self.axes, self.shape, self.xhat
        scale = self.inv_std if self.gamma is None else self.inv_std * self.gamma.reshape(shape)
        gx = ggamma = gbeta = None
        if self.needs_input_grad[0]:
            if self.training:
                m = g.size // g.shape[1]
                sum_g = g.sum(axis=axes).reshape(shape)
                sum_g_xhat = (g * xhat).sum(axis=axes).reshape(shape)
                gx = (scale / m) * (m * g - sum_g - xhat * sum_g_xhat)
            else:
                gx = scale * g
        if self.needs_input_grad[1]:
            ggamma = (g * xhat).sum(axis=axes)
        if self.needs_input_grad[2]:
            gbeta = g.sum(axis=axes)
        return gx, ggamma, gbeta


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
    return BatchNorm.apply(
        x,
        weight,
        bias,
        running_mean=None if running_mean is None else running_mean.data,
        running_var=None if running_var is None else running_var.data,
        training=bool(training),
        momentum=momentum,
        eps=eps,
    )
