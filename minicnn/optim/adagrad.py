"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients."""
from ..backend import get_array_module
from .optimizer import Optimizer, require


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011).

    With ∇ the gradient after ``maximize`` and weight decay (∇ = g + λp),
    η = ``lr``, t the step count (from 1), ε = ``eps``::

        η_t = η / (1 + (t - 1)·lr_decay)
        s_t = s_{t-1} + ∇²                     (s_0 = initial_accumulator_value)
        p  ← p - η_t·∇ / (√s_t + ε)

    Coordinates that have seen large gradients take small steps and rare ones
    keep large steps; since s only grows, the steps decay for all of them.
    No momentum.

    State per parameter: ``step`` (t) and ``sum`` (s).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            require(group[key] >= 0, "Adagrad", f"{key} must be >= 0, got {key}={group[key]}")

    def _buffers(self, group):
        return ("sum",)

    def _init_state(self, state, param, group):
        super()._init_state(state, param, group)
        state["sum"] += group["initial_accumulator_value"]     # s_0

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])   # η_t
        s = state["sum"]
        s += grad * grad                               # s_t = s_{t-1} + ∇²
        std = xp.sqrt(s)
        std += group["eps"]
        param -= lr_t * grad / std                     # p ← p - η_t·∇/(√s_t + ε)
