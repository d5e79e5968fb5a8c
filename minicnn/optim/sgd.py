"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from .optimizer import Optimizer, require


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    With ∇ the gradient after ``maximize`` and weight decay (∇ = g + λp),
    μ = ``momentum``, τ = ``dampening``, η = ``lr``::

        b_1 = ∇                         (first step: the buffer starts at the gradient)
        b_t = μ·b_{t-1} + (1 - τ)·∇     (later steps)
        d   = ∇ + μ·b_t   if nesterov   else   b_t      (d = ∇ when μ = 0)
        p  ← p - η·d

    Momentum convention: PyTorch's, v = μv + g and p -= η·v, with the learning
    rate applied outside the buffer.  Sutskever et al. write v = μv + η·g and
    p -= v; the two agree while η is constant, not when a scheduler changes it.

    State per parameter: ``momentum_buffer`` (b), created on the first step when μ ≠ 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, group):
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        require(lr >= 0, "SGD", f"lr must be >= 0, got lr={lr}")
        require(mu >= 0, "SGD", f"momentum must be >= 0, got momentum={mu}")
        require(group["weight_decay"] >= 0, "SGD", f"weight_decay must be >= 0, got weight_decay={group['weight_decay']}")
        require(not group["nesterov"] or (mu > 0 and tau == 0), "SGD",
                f"Nesterov momentum needs momentum > 0 and dampening = 0, got momentum={mu}, dampening={tau}")

    def _init_state(self, state, param, group):
        """Nothing to prepare: the buffer starts as the first gradient (in ``_update``)."""

    def _update(self, param, grad, state, group):
        mu, tau = group["momentum"], group["dampening"]
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()   # b_1 = ∇
            else:
                buf *= mu                                      # b_t = μ·b_{t-1} + (1 - τ)·∇
                buf += (1 - tau) * grad
            if group["nesterov"]:
                grad = grad + mu * buf                         # d = ∇ + μ·b_t
            else:
                grad = buf                                     # d = b_t
        param -= group["lr"] * grad                            # p ← p - η·d
