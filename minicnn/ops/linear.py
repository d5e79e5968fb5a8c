"""The fully connected layer as a function: y = x W^T + b.

Every output is a weighted sum of every input: y_o = sum_i W[o, i] x_i + b_o.
Leading axes of x are batch axes (x: (*, in) -> y: (*, out)); the batch is
flattened into one matrix so that forward is one matrix product and backward
two.
"""
from __future__ import annotations

from ..autograd.function import Function

__all__ = ["linear"]


class Linear(Function):
    """y = x W^T + b.   x: (*, in),  W: (out, in),  b: (out,) or None  ->  y: (*, out).

    Backward, with X = x as a (M, in) matrix and G = dL/dy as (M, out):
        dL/dx = G W            (M, in)
        dL/dW = G^T X          (out, in)
        dL/db = sum_rows G     (out,)
    """

    def forward(self, x, weight, bias):
        self.x, self.weight = x, weight
        y = x @ weight.T
        return y if bias is None else y + bias

    def backward(self, g):
        x, weight = self.x, self.weight
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = g @ weight
        if self.needs_input_grad[1]:
            gw = g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        if self.needs_input_grad[2]:
            gb = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return gx, gw, gb


def linear(x, weight, bias=None):
    """x @ weight.T + bias for x: (*, in_features), weight: (out_features, in_features)."""
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-d (out_features, in_features), got shape {tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape {tuple(x.shape)}) "
            f"but weight expects {weight.shape[1]} (weight shape {tuple(weight.shape)})"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"linear: bias must have shape ({weight.shape[0]},) to match weight {tuple(weight.shape)}, "
            f"got {tuple(bias.shape)}"
        )
    return Linear.apply(x, weight, bias)
