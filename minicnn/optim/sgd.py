"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from .. import kernels
from ..backend import get_array_module
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
        """Reserve the momentum buffer before any parameter changes (it is filled with
        b_1 = ∇ by the first update, so an out-of-memory error cannot strike halfway
        through a step)."""
        if group["momentum"] != 0 and "momentum_buffer" not in state:
            self._unfilled[id(param)] = get_array_module(param).empty_like(param)

    def _update(self, param, grad, state, group):
        buf = state.get("momentum_buffer")
        first = buf is None and group["momentum"] != 0
        if first:
            buf = state["momentum_buffer"] = self._unfilled.pop(id(param))
        kernels.get("sgd_update", param)(param, grad, buf, group["lr"], group["momentum"], group["dampening"],
                                         group["nesterov"], first)

    @property
    def _unfilled(self):
        """Buffers reserved by ``_init_state`` for this step, by id of the parameter array."""
        if not hasattr(self, "_reserved"):
            self._reserved = {}
        return self._reserved


@kernels.register("sgd_update", "reference")
def sgd_update(param, grad, buf, lr, momentum, dampening, nesterov, first):
    """One SGD step on one parameter array, in place (the formulas of ``SGD``).

    ``buf`` is the momentum buffer (None when μ = 0) and ``first`` says it is
    still unfilled.  On the GPU a fused CUDA kernel does the same in one pass
    (``kernels/cuda_optim.py``).
    """
    if momentum != 0:
        if first:
            buf[...] = grad                                    # b_1 = ∇
        else:
            buf *= momentum                                    # b_t = μ·b_{t-1} + (1 - τ)·∇
            buf += (1 - dampening) * grad
        if nesterov:
            grad = grad + momentum * buf                       # d = ∇ + μ·b_t
        else:
            grad = buf                                         # d = b_t
    param -= lr * grad                                         # p ← p - η·d
