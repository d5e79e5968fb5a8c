"""``Linear``: the fully connected layer, y = x W^T + b."""
from __future__ import annotations

import math

from ... import factories
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


def reset_weight_and_bias(weight, bias):
    """PyTorch's default initialisation of ``Linear`` and ``Conv`` layers.

    weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        if fan_in != 0:
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b.

    Shape: x: (*, in_features) -> (*, out_features).
    Parameters: weight (out_features, in_features), bias (out_features,).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(factories.empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(factories.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
