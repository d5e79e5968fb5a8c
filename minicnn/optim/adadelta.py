"""Adadelta: Adagrad's per-coordinate scaling with a window, and units that match."""
from ..backend import get_array_module
from .optimizer import Optimizer, require


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    With ∇ the gradient after ``maximize`` and weight decay (∇ = g + λp),
    ρ = ``rho``, ε = ``eps``, η = ``lr`` (1.0 in the paper)::

        v_t = ρ·v_{t-1} + (1 - ρ)·∇²            running mean of squared gradients
        Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · ∇    step: RMS of past steps / RMS of gradients
        u_t = ρ·u_{t-1} + (1 - ρ)·Δ_t²          running mean of squared steps
        p  ← p - η·Δ_t

    The ratio of two RMS values gives the step the units of the parameter,
    so no learning rate is needed in principle.  No momentum.

    State per parameter: ``step``, ``square_avg`` (v) and ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, group):
        for key in ("lr", "eps", "weight_decay"):
            require(group[key] >= 0, "Adadelta", f"{key} must be >= 0, got {key}={group[key]}")
        require(0 <= group["rho"] <= 1, "Adadelta", f"rho must be in [0, 1], got rho={group['rho']}")

    def _buffers(self, group):
        return ("square_avg", "acc_delta")

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho                                       # v_t = ρ·v_{t-1} + (1 - ρ)·∇²
        v += (1 - rho) * grad * grad
        delta = xp.sqrt(u + eps)                       # Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · ∇
        delta /= xp.sqrt(v + eps)
        delta *= grad
        u *= rho                                       # u_t = ρ·u_{t-1} + (1 - ρ)·Δ_t²
        u += (1 - rho) * delta * delta
        param -= group["lr"] * delta                   # p ← p - η·Δ_t
