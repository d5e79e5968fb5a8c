"""L-BFGS: a quasi-Newton method that builds its curvature model from recent steps.

A port of PyTorch's ``torch.optim.LBFGS`` (itself from Lua torch's ``lbfgs.lua``
and ``lswolfe.lua``), on flat NumPy/CuPy vectors.
"""
import math

from ..backend import get_array_module
from .optimizer import Optimizer, require


class LBFGS(Optimizer):
    r"""Limited-memory BFGS, with an optional strong-Wolfe line search.

    All parameters are seen as one flat vector x with gradient g.  After each
    iteration the last ``history_size`` pairs are kept::

        s_k = x_{k+1} - x_k      y_k = g_{k+1} - g_k      ρ_k = 1 / (y_kᵀ s_k)

    (a pair is kept only when y_kᵀs_k > 1e-10, so the model stays positive
    definite).  The direction d ≈ -H⁻¹g comes from the two-loop recursion::

        q = -g
        for i = newest … oldest:   α_i = ρ_i·s_iᵀq ;   q ← q - α_i·y_i
        r = γ·q,   γ = y_kᵀs_k / y_kᵀy_k           (scale of the initial H⁻¹)
        for i = oldest … newest:   β = ρ_i·y_iᵀr ;     r ← r + (α_i - β)·s_i
        d = r

    and the step is x ← x + t·d, with t = ``lr`` (the first iteration uses
    min(1, 1/‖g‖₁)·lr), or, with ``line_search_fn="strong_wolfe"``, a t that
    satisfies the strong Wolfe conditions (c₁ = 1e-4, c₂ = 0.9)::

        f(x + t·d) ≤ f(x) + c₁·t·gᵀd          (sufficient decrease)
        |g(x + t·d)ᵀd| ≤ c₂·|gᵀd|              (curvature)

    One ``step(closure)`` runs up to ``max_iter`` iterations (``max_eval``
    evaluations of the closure), stopping early when max|g| ≤
    ``tolerance_grad`` or when the loss or the parameters change by less
    than ``tolerance_change``.  The closure recomputes the loss, calls
    ``backward`` and returns the loss::

        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss

    One parameter group only.  The state (the history, the last direction
    and step) is global; as in PyTorch it is stored under the first parameter.
    """

    per_parameter_state = False  # the state is made of flat vectors over all parameters

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             "give all parameters in one group")
        super().add_param_group(param_group)

    def _check_options(self, group):
        require(group["lr"] >= 0, "LBFGS", f"lr must be >= 0, got lr={group['lr']}")
        for key in ("max_iter", "max_eval", "history_size"):
            require(group[key] >= 1, "LBFGS", f"{key} must be >= 1, got {key}={group[key]}")
        for key in ("tolerance_grad", "tolerance_change"):
            require(group[key] >= 0, "LBFGS", f"{key} must be >= 0, got {key}={group[key]}")
        require(group["line_search_fn"] in (None, "strong_wolfe"), "LBFGS",
                f"line_search_fn must be None or 'strong_wolfe', got line_search_fn={group['line_search_fn']!r}")

    # ------------------------------------------------ the parameters as one vector
    def _flat_grad(self):
        """g: every parameter's gradient, flattened and concatenated (zeros where None)."""
        xp = get_array_module(self._params[0].data)
        return xp.concatenate([
            (p.grad.data if p.grad is not None else xp.zeros_like(p.data)).ravel() for p in self._params
        ])

    def _add_to_params(self, t, d):
        """x ← x + t·d, in place on every parameter."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.data.shape)
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        """f(x + t·d) and its flat gradient; the parameters are put back to x afterwards."""
        self._add_to_params(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        for p, saved in zip(self._params, x):
            p.data[...] = saved
        return loss, flat_grad

    # ------------------------------------------------ the step
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss at the start."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that recomputes the loss, calls backward "
                             "and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        evaluate = lambda: self._evaluate(closure)   # noqa: E731  (closure with grad enabled)

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        xp = get_array_module(flat_grad)
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return orig_loss                                  # already optimal

        d, t = state.get("d"), state.get("t")
        y_hist, s_hist, rho = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction d ≈ -H⁻¹g
            if state["n_iter"] == 1:
                d = -flat_grad
                y_hist, s_hist, rho = [], [], []
                h_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad                # y_k = g_{k+1} - g_k
                s = d * t                                     # s_k = x_{k+1} - x_k
                ys = float(y @ s)
                if ys > 1e-10:                                # keep the pair (curvature > 0)
                    if len(y_hist) == history_size:
                        del y_hist[0], s_hist[0], rho[0]   # forget the oldest pair
                    y_hist.append(y)
                    s_hist.append(s)
                    rho.append(1.0 / ys)                      # ρ_k = 1 / y_kᵀs_k
                    h_diag = ys / float(y @ y)                # γ = y_kᵀs_k / y_kᵀy_k
                d = _two_loop(-flat_grad, s_hist, y_hist, rho, h_diag)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- step length t
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)                        # directional derivative gᵀd
            if gtd > -tolerance_change:
                break                                         # d is no descent direction

            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.data.copy() for p in self._params]

                def obj_func(t_, d_):
                    return self._directional_evaluate(evaluate, x_init, t_, d_)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_to_params(t, d)                     # fixed step x ← x + t·d
                ls_func_evals = 0
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping tests
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(xp.abs(d * t).max()) <= tolerance_change:
                break                                         # the parameters stopped moving
            if abs(loss - prev_loss) < tolerance_change:
                break                                         # the loss stopped moving

        state.update(d=d, t=t, old_dirs=y_hist, old_stps=s_hist, ro=rho, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss


def _two_loop(q, s_hist, y_hist, rho, h_diag):
    """The L-BFGS two-loop recursion: H⁻¹q from the history (s_i, y_i, ρ_i); q is overwritten."""
    alpha = [0.0] * len(s_hist)
    for i in range(len(s_hist) - 1, -1, -1):                  # newest → oldest
        alpha[i] = rho[i] * float(s_hist[i] @ q)              # α_i = ρ_i·s_iᵀq
        q -= alpha[i] * y_hist[i]                             # q ← q - α_i·y_i
    r = q
    r *= h_diag                                               # r = γ·q
    for i in range(len(s_hist)):                              # oldest → newest
        beta = rho[i] * float(y_hist[i] @ r)                  # β = ρ_i·y_iᵀr
        r += (alpha[i] - beta) * s_hist[i]                    # r ← r + (α_i - β)·s_i
    return r


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, f2'=g2), clipped to ``bounds``.

        d1 = g1 + g2 - 3·(f1 - f2)/(x1 - x2)
        d2 = √(d1² - g1·g2)
        x* = x2 - (x2 - x1)·(g2 + d2 - d1)/(g2 - g1 + 2·d2)     (for x1 ≤ x2)

    When d1² < g1·g2 the cubic has no minimum and the bounds' midpoint is returned.
    """
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search for a step t along d that satisfies the strong Wolfe conditions.

    ``obj_func(t, d)`` returns f(x + t·d) and its gradient.  Two phases, as in
    Nocedal & Wright (algorithms 3.5 and 3.6): *bracketing* grows t (cubic
    extrapolation) until an interval is known to contain an acceptable step,
    then *zoom* shrinks that interval by cubic interpolation.  Returns
    (f_new, g_new, t, number of evaluations).
    """
    xp = get_array_module(d)
    d_norm = float(xp.abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)

    # ---- bracketing: find an interval [t_prev, t] that contains a Wolfe point
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]          # sufficient decrease fails
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]        # both conditions hold
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]          # went past a minimum
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a larger step, between 1.01·t and 10·t
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:  # ran out of evaluations: fall back to [0, t]
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # ---- zoom: shrink the bracket until a point satisfies both conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break                                                  # the bracket is too small
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # a trial point too close to an end of the bracket makes little progress:
        # move it 10% of the bracket's width inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # no sufficient decrease, or no lower than the low end: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True                                        # the Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            # t becomes the new low end
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals
