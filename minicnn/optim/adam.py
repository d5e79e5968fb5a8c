"""Adam and AdamW: momentum on the gradient, per-element scale from its running square."""
import math

from .. import kernels
from ..backend import get_array_module
from .optimizer import Optimizer, require


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with optional AMSGrad.

    With ∇ the gradient after ``maximize`` and L2 weight decay (∇ = g + λp),
    β₁, β₂ = ``betas``, η = ``lr``, ε = ``eps``, t the step count (from 1)::

        m_t = β₁·m_{t-1} + (1 - β₁)·∇           first moment (momentum)
        v_t = β₂·v_{t-1} + (1 - β₂)·∇²          second moment
        v̂_t = max(v̂_{t-1}, v_t) if amsgrad else v_t
        p  ← p - η/(1 - β₁ᵗ) · m_t / (√v̂_t / √(1 - β₂ᵗ) + ε)

    The factors 1/(1 - βᵗ) undo the bias of moments that start at zero.
    Momentum convention: the moment is an exponential moving average (the
    gradient enters with weight 1 - β₁), unlike SGD's v = μv + g.

    ``decoupled_weight_decay=True`` gives AdamW (see ``AdamW``).

    State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and,
    with amsgrad, ``max_exp_avg_sq`` (v̂).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_options(self, group):
        name = type(self).__name__
        lr, eps, betas, decay = group["lr"], group["eps"], group["betas"], group["weight_decay"]
        require(lr >= 0, name, f"lr must be >= 0, got lr={lr}")
        require(eps >= 0, name, f"eps must be >= 0, got eps={eps}")
        require(len(betas) == 2, name, f"betas must be a pair (beta1, beta2), got betas={betas}")
        for i, beta in enumerate(betas):
            require(0 <= beta < 1, name, f"betas[{i}] must be in [0, 1), got betas={tuple(betas)}")
        require(decay >= 0, name, f"weight_decay must be >= 0, got weight_decay={decay}")

    def _buffers(self, group):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        kernels.get("adam_update", param)(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            group["lr"], beta1, beta2, group["eps"], state["step"],
        )


@kernels.register("adam_update", "reference")
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, step):
    """One Adam step on one parameter array, in place (the formulas of ``Adam``).

    ``max_exp_avg_sq`` is None without AMSGrad; ``step`` is t, counted from 1.
    On the GPU a fused CUDA kernel does the same in one pass (``kernels/cuda_optim.py``).
    """
    xp = get_array_module(param)
    m, v = exp_avg, exp_avg_sq
    m *= beta1                                     # m_t = β₁·m_{t-1} + (1 - β₁)·∇
    m += (1 - beta1) * grad
    v *= beta2                                     # v_t = β₂·v_{t-1} + (1 - β₂)·∇²
    v += (1 - beta2) * grad * grad
    if max_exp_avg_sq is not None:                 # v̂_t = max(v̂_{t-1}, v_t)
        v = xp.maximum(max_exp_avg_sq, v, out=max_exp_avg_sq)
    denom = xp.sqrt(v)                             # √v̂_t / √(1 - β₂ᵗ) + ε
    denom /= math.sqrt(1 - beta2 ** step)
    denom += eps
    step_size = lr / (1 - beta1 ** step)
    param -= step_size * m / denom                 # p ← p - η/(1 - β₁ᵗ) · m_t / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    The parameter shrinks directly, instead of the decay entering the
    gradient (where Adam's 1/√v̂ scale would weaken it for parameters with
    large gradients)::

        p ← p·(1 - η·λ)
        then Adam's update with ∇ = g (no λp term)

    State per parameter: as ``Adam``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # an AdamW stays decoupled whatever the file says
            group["decoupled_weight_decay"] = True
