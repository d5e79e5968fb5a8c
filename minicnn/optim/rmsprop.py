"""RMSprop: divide the gradient by a running root-mean-square of its recent values."""
from ..backend import get_array_module
from .optimizer import Optimizer, require


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum.

    With ∇ the gradient after ``maximize`` and weight decay (∇ = g + λp),
    α = ``alpha``, μ = ``momentum``, η = ``lr``, ε = ``eps``::

        v_t = α·v_{t-1} + (1 - α)·∇²            running mean of the squared gradient
        ḡ_t = α·ḡ_{t-1} + (1 - α)·∇             (centered only)
        s   = √(v_t - ḡ_t²) + ε   if centered   else   √v_t + ε
        b_t = μ·b_{t-1} + ∇/s ;  p ← p - η·b_t   if μ > 0
        p  ← p - η·∇/s                           otherwise

    Centering divides by an estimate of the gradient's standard deviation
    instead of its root mean square.  Momentum convention: PyTorch's,
    b = μb + (scaled gradient) and p -= η·b.

    State per parameter: ``step``, ``square_avg`` (v), ``grad_avg`` (ḡ, centered)
    and ``momentum_buffer`` (b, μ > 0).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, group):
        for key in ("lr", "eps", "weight_decay", "momentum"):
            require(group[key] >= 0, "RMSprop", f"{key} must be >= 0, got {key}={group[key]}")
        require(0 <= group["alpha"] <= 1, "RMSprop", f"alpha must be in [0, 1], got alpha={group['alpha']}")

    def _buffers(self, group):
        names = ("square_avg",)
        if group["momentum"] > 0:
            names += ("momentum_buffer",)
        if group["centered"]:
            names += ("grad_avg",)
        return names

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        alpha, eps = group["alpha"], group["eps"]
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha                                     # v_t = α·v_{t-1} + (1 - α)·∇²
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            g_avg = state["grad_avg"]
            g_avg *= alpha                             # ḡ_t = α·ḡ_{t-1} + (1 - α)·∇
            g_avg += (1 - alpha) * grad
            s = xp.sqrt(v - g_avg * g_avg)             # s = √(v_t - ḡ_t²) + ε
        else:
            s = xp.sqrt(v)                             # s = √v_t + ε
        s += eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]                   # b_t = μ·b_{t-1} + ∇/s
            buf += grad / s
            param -= group["lr"] * buf                 # p ← p - η·b_t
        else:
            param -= group["lr"] * grad / s            # p ← p - η·∇/s
