"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d``, ``ConvTranspose2d``.

One base class, ``_ConvNd``, owns what they share: the argument checks, the
weight and bias ``Parameter``s and their initialisation, and the repr.  Each
concrete layer only names the functional op it calls.

Output size along each spatial axis (``n`` input, ``f`` kernel, ``p`` padding,
``s`` stride, ``d`` dilation):

    convolution:            n_out = floor((n + 2p - d(f-1) - 1) / s) + 1
    transposed convolution: n_out = (n - 1)s - 2p + d(f-1) + output_padding + 1
"""
from __future__ import annotations

from ... import factories
from .. import functional as F
from ..module import Module
from ..parameter import Parameter
from .linear import reset_weight_and_bias


def _ntuple(value, n, name):
    """``3 -> (3, 3)`` for n = 2; a tuple must already have n entries."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return value


class _ConvNd(Module):
    """Shared state of the N-d (transposed) convolutions.

    weight: (out_channels, in_channels / groups, *kernel_size) for a convolution,
            (in_channels, out_channels / groups, *kernel_size) for a transposed one;
    bias:   (out_channels,).
    """

    _ndim = None  # number of spatial axes, set by each subclass
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, output_padding=0):
        super().__init__()
        name, n = type(self).__name__, self._ndim
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                f"divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, but got padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n, "stride")):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n, "padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(factories.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(factories.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """kaiming_uniform(a=sqrt(5)) weight and U(+-1/sqrt(fan_in)) bias, fan_in from weight axis 1
        (for a transposed convolution that is out_channels / groups, as in PyTorch)."""
        reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._ndim:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._ndim:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._ndim:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-d convolution.  x: (N, C_in, L) -> (N, C_out, L_out)."""

    _ndim = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-d convolution.  x: (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Example: ``Conv2d(3, 10, 3)`` has 10 filters of 3x3x3 plus 10 biases, 280 parameters.
    """

    _ndim = 2

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv3d(_ConvNd):
    """3-d convolution.  x: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _ndim = 3

    def forward(self, x):
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution (the gradient of a convolution with respect to its input).

    x: (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
    """

    _ndim = 2
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
