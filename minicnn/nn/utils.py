"""Gradient clipping, as ``torch.nn.utils`` does it.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # rescale if the norm is too big
    optimizer.step()

Clipping by norm keeps the direction of the whole gradient and only shortens
it: with ``g`` all gradients seen as one long vector,

    total = ||g||_p                      (p = norm_type; inf: max |g_i|)
    coef  = max_norm / (total + 1e-6)
    g    <- g * min(coef, 1)             (in place, every parameter)

Clipping by value clamps each element to ``[-clip_value, clip_value]``, which
can change the direction.  Both work on ``.grad`` in place and skip
parameters without a gradient.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, name):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected Tensors (model.parameters()), got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad.data)
    return grads


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping, as a 0-d Tensor (PyTorch's
    semantics: the coefficient is ``max_norm / (total + 1e-6)``, clamped to
    1).  ``error_if_nonfinite=True`` raises instead of scaling when the norm
    is nan or inf.  ``foreach`` is accepted for PyTorch compatibility.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be non-negative, but got max_norm={max_norm}")
    if norm_type <= 0 and not math.isinf(norm_type):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, but got norm_type={norm_type}")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return Tensor(backend.numpy.zeros((), dtype=backend.get_default_dtype()))
    xp = backend.get_array_module(grads[0])
    dtype = grads[0].dtype
    if math.isinf(norm_type):
        norms = xp.stack([xp.abs(g).max() if g.size else xp.zeros((), dtype) for g in grads])
        total = norms.max()
    else:
        norms = xp.stack([(xp.abs(g) ** norm_type).sum() ** (1.0 / norm_type) for g in grads])
        total = (norms ** norm_type).sum() ** (1.0 / norm_type)
    total = total.astype(dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {float(total)}, so they cannot be "
            "clipped; pass error_if_nonfinite=False to scale them anyway"
        )
    coef = xp.minimum(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, but got clip_value={clip_value}")
    for g in _grads(parameters, "clip_grad_value_"):
        xp = backend.get_array_module(g)
        xp.clip(g, -clip_value, clip_value, out=g)
