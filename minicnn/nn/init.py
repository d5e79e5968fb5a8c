"""Weight initialisation: PyTorch's ``torch.nn.init`` formulas.

Why the scale matters: a layer with ``fan_in`` inputs sums ``fan_in`` terms,
so with weights of variance ``v`` the output variance is about
``fan_in * v * Var(x)``.  Keeping the signal's variance constant from layer to
layer gives the classic rules:

* Xavier/Glorot (tanh, sigmoid):  ``std = gain * sqrt(2 / (fan_in + fan_out))``
* Kaiming/He (ReLU family):        ``std = gain / sqrt(fan)``,  ``gain = sqrt(2 / (1 + a^2))``

and a uniform distribution ``U(-b, b)`` has ``std = b / sqrt(3)``, so its bound
is ``b = sqrt(3) * std``.

For a conv weight ``(out_channels, in_channels, kH, kW)``:
``fan_in = in_channels * kH * kW`` and ``fan_out = out_channels * kH * kW``.

Every function fills ``tensor.data`` in place (outside any graph), draws from
the generator of the tensor's device (so ``minicnn.manual_seed`` makes the
initialisation reproducible) and returns the tensor.
"""
from __future__ import annotations

import math
import warnings

from .. import backend


def calculate_gain(nonlinearity, param=None):
    """The gain for ``nonlinearity``: how much it shrinks the signal's std (PyTorch's table).

    linear, conv, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu with slope a (``param``, default 0.01): sqrt(2 / (1 + a^2));  selu: 3/4.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``: ``in * prod(kernel)``, ``out * prod(kernel)``."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
            f"(got shape {tuple(tensor.shape)})"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    """Write ``values`` (an array of the tensor's shape) into the tensor, in its dtype."""
    tensor.data[...] = values.astype(tensor.dtype, copy=False)
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b)."""
    rng = backend.generator(tensor.device)
    return _fill(tensor, a + (b - a) * rng.random(tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2)."""
    rng = backend.generator(tensor.device)
    return _fill(tensor, mean + std * rng.standard_normal(tensor.shape))


def constant_(tensor, val):
    """Fill with ``val``."""
    tensor.data[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def _kaiming_std(tensor, a, mode, nonlinearity):
    """std = gain(nonlinearity, a) / sqrt(fan), or None for a tensor with no elements."""
    if 0 in tensor.shape:
        warnings.warn("initializing a zero-element tensor is a no-op")
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan).

    ``a`` is the negative slope of the leaky ReLU that follows.  PyTorch's
    default for ``Linear`` and ``Conv`` weights is ``a = sqrt(5)``, which gives
    b = 1 / sqrt(fan_in).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std)
