"""Batch-normalisation kernels (reference implementation): statistics, affine map, backward.

Per channel c, over the m = N * prod(spatial) values of x: (N, C, *spatial)::

    statistics:  mu = (1/m) sum_i x_i,   var = (1/m) sum_i (x_i - mu)^2       (biased)
    affine:      y_i = (x_i - mu) scale + beta     with scale = gamma * inv_std
                 (training and evaluation alike: xhat_i = (x_i - mu) inv_std is never stored)
    backward:    xhat_i = (x_i - mu) inv_std       (recomputed from the saved input)
                 sum_g = sum_i g_i,   sum_gx = sum_i g_i xhat_i,
                 gx_i  = (scale / m) (m g_i - sum_g - xhat_i sum_gx)

(the derivation is in ``minicnn/ops/normalization.py``).  The op saves x, as
PyTorch does, rather than xhat: the same memory, one array less to write in
the forward pass.  Signatures, shared by every implementation::

    batch_norm_statistics(x) -> (mean, var)                     (C,) each, x.dtype
    batch_norm_affine(x, mean, scale, beta) -> y                scale: (C,), beta: (C,) or None
    batch_norm_backward(g, x, mean, inv_std, scale) -> (gx, sum_g, sum_gx)
                                                                mean, inv_std, scale: (C,)
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


@register("batch_norm_affine", "reference")
def batch_norm_affine(x, mean, scale, beta):
    """``y = (x - mean) * scale + beta``: normalise and scale in one product, xhat never formed."""
    y = (x - _as_channel(mean, x)) * _as_channel(scale, x)
    return y if beta is None else y + _as_channel(beta, x)


@register("batch_norm_backward", "reference")
def batch_norm_backward(g, x, mean, inv_std, scale):
    """Training-mode gradient of x, with the two channel sums that gamma and beta need."""
    axes = _channel_axes(g)
    m = g.size // g.shape[1]
    xhat = (x - _as_channel(mean, x)) * _as_channel(inv_std, x)
    sum_g = g.sum(axis=axes)
    sum_gx = (g * xhat).sum(axis=axes)
    gx = _as_channel(scale / m, g) * (m * g - _as_channel(sum_g, g) - xhat * _as_channel(sum_gx, g))
    return gx, sum_g, sum_gx
