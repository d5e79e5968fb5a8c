"""Batch-normalisation kernels (reference implementation): statistics, normalise, backward.

Per channel c, over the m = N * prod(spatial) values of x: (N, C, *spatial)::

    statistics:  mu = (1/m) sum_i x_i,   var = (1/m) sum_i (x_i - mu)^2       (biased)
    normalize:   xhat_i = (x_i - mu) * inv_std,   y_i = gamma xhat_i + beta
    affine:      y_i = (x_i - mu) scale + beta     with scale = gamma * inv_std
                 (the same y without xhat: for evaluation, when no gradient will need it)
    backward:    sum_g = sum_i g_i,   sum_gx = sum_i g_i xhat_i,
                 gx_i  = (scale / m) (m g_i - sum_g - xhat_i sum_gx)     with scale = gamma * inv_std

(the derivation is in ``minicnn/ops/normalization.py``).  Signatures, shared by
every implementation::

    batch_norm_statistics(x) -> (mean, var)                     (C,) each, x.dtype
    batch_norm_normalize(x, mean, inv_std, gamma, beta) -> (y, xhat)
                                                                gamma, beta: (C,) or None
    batch_norm_affine(x, mean, scale, beta) -> y                scale: (C,), beta: (C,) or None
    batch_norm_backward(g, xhat, scale) -> (gx, sum_g, sum_gx)  scale: (C,)
"""
from __future__ import annotations

from .registry import register


def _channel_axes(x):
    """The axes a channel's statistics run over: all but axis 1."""
    return (0, *range(2, x.ndim))


def _as_channel(v, x):
    """A (C,) vector shaped to broadcast against x: (1, C, 1, ...)."""
    return v.reshape(1, -1, *(1,) * (x.ndim - 2))


@register("batch_norm_statistics", "reference")
def batch_norm_statistics(x):
    """Per-channel mean and biased variance (two passes: mean, then centred squares)."""
    axes = _channel_axes(x)
    mean = x.mean(axis=axes)
    centered = x - _as_channel(mean, x)
    return mean, (centered * centered).mean(axis=axes)


@register("batch_norm_normalize", "reference")
def batch_norm_normalize(x, mean, inv_std, gamma, beta):
    """``xhat = (x - mean) * inv_std``, ``y = gamma xhat + beta`` (a missing gamma/beta is 1/0)."""
    xhat = (x - _as_channel(mean, x)) * _as_channel(inv_std, x)
    y = xhat if gamma is None else xhat * _as_channel(gamma, x)
    return (y if beta is None else y + _as_channel(beta, x)), xhat


@register("batch_norm_affine", "reference")
def batch_norm_affine(x, mean, scale, beta):
    """``y = (x - mean) * scale + beta``: normalise and scale in one product, xhat never formed."""
    y = (x - _as_channel(mean, x)) * _as_channel(scale, x)
    return y if beta is None else y + _as_channel(beta, x)


@register("batch_norm_backward", "reference")
def batch_norm_backward(g, xhat, scale):
    """Training-mode gradient of x, with the two channel sums that gamma and beta need."""
    axes = _channel_axes(g)
    m = g.size // g.shape[1]
    sum_g = g.sum(axis=axes)
    sum_gx = (g * xhat).sum(axis=axes)
    gx = _as_channel(scale / m, g) * (m * g - _as_channel(sum_g, g) - xhat * _as_channel(sum_gx, g))
    return gx, sum_g, sum_gx
