"""``gradcheck``: does backward agree with finite differences?

For a function ``f`` of tensors, pick a random weight ``u`` for every output
element and look at the scalar ``s(x) = sum(u * f(x))``.  Backward gives
``ds/dx`` analytically (one backward pass).  The central difference

    ds/dx_i ~= (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)

gives it numerically, element by element.  Since ``u`` is random, a wrong
Jacobian entry shows up in ``ds/dx`` with probability 1.  The check passes when
``|analytic - numeric| <= atol + rtol * |numeric|`` for every element; on
failure the error names the worst one (input index, position, both values).

``fast=True`` checks a random direction instead of every element:
``<ds/dx, v>`` against ``(s(x + eps v) - s(x - eps v)) / (2 eps)`` -- two
evaluations of ``f`` whatever the input size.  When that fails it falls back to
the element-wise check to report the worst element.

Use float64: with float32's 7 digits the finite differences are mostly noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from .. import backend
from .function import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytic and numeric gradients disagree."""


@dataclass
class GradcheckResult:
    """What a check found: the worst element and whether all were within tolerance."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    input_index: int | None = None
    position: tuple | None = None
    analytic: float | None = None
    numeric: float | None = None
    mode: str = "elementwise"

    def describe(self):
        if self.input_index is None:
            return f"no differentiable input ({self.mode} check)"
        return (
            f"input {self.input_index} at position {self.position}: analytic {self.analytic:.8g}, "
            f"numeric {self.numeric:.8g} (abs error {self.max_abs_error:.3g}, "
            f"rel error {self.max_rel_error:.3g}, {self.mode} check)"
        )


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _weighted_sum(outs, weights):
    """s = sum_k sum(u_k * out_k) as a Python float (no graph)."""
    return sum(float((o.data * u).sum()) for o, u in zip(outs, weights))


def gradcheck_result(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, seed=0):
    """Run the check and return a ``GradcheckResult`` (see the module docstring)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    targets = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in targets:
        if inputs[i].dtype != numpy.float64:
            raise ValueError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need float64 "
                "(make inputs with dtype=minicnn.float64 or call .double())"
            )
    rng = numpy.random.default_rng(seed)

    # analytic: one backward of s = sum(u * f(x))
    for i in targets:
        inputs[i].grad = None
    outs = _outputs(fn, inputs)
    if not outs:
        raise ValueError("gradcheck: the function returned no floating-point tensor")
    weights = [backend.to_device(rng.standard_normal(o.shape), o.device).astype(o.dtype) for o in outs]
    total = None
    for o, u in zip(outs, weights):
        if o.requires_grad:
            term = (o * Tensor._wrap(u, None, 0)).sum()
            total = term if total is None else total + term
    analytic = {}
    if total is not None:
        total.backward()
    for i in targets:
        g = inputs[i].grad
        analytic[i] = numpy.zeros(inputs[i].shape) if g is None else backend.to_numpy(g.data)
        inputs[i].grad = None

    def s_at():
        with no_grad():
            return _weighted_sum(_outputs(fn, inputs), weights)

    if fast:
        directions = {i: rng.standard_normal(inputs[i].shape) for i in targets}
        moved = {i: backend.to_device(d, inputs[i].device) for i, d in directions.items()}
        for i in targets:
            inputs[i].data += eps * moved[i]
        plus = s_at()
        for i in targets:
            inputs[i].data -= 2 * eps * moved[i]
        minus = s_at()
        for i in targets:
            inputs[i].data += eps * moved[i]
        numeric = (plus - minus) / (2 * eps)
        predicted = sum(float((analytic[i] * directions[i]).sum()) for i in targets)
        err = abs(predicted - numeric)
        if err <= atol + rtol * abs(numeric):
            return GradcheckResult(True, err, err / max(abs(numeric), 1e-300), mode="fast")
        # locate the culprit element by element
        result = gradcheck_result(fn, inputs, eps, atol, rtol, fast=False, seed=seed)
        result.passed = False
        result.mode = f"fast (direction: analytic {predicted:.8g} vs numeric {numeric:.8g}), then elementwise"
        return result

    worst = GradcheckResult(True, 0.0, 0.0)
    worst_excess = -numpy.inf
    for i in targets:
        data = inputs[i].data
        for position in numpy.ndindex(*data.shape):
            original = data[position].item()
            data[position] = original + eps
            plus = s_at()
            data[position] = original - eps
            minus = s_at()
            data[position] = original
            numeric = (plus - minus) / (2 * eps)
            got = float(analytic[i][position])
            err = abs(got - numeric)
            excess = err - (atol + rtol * abs(numeric))
            worst.max_abs_error = max(worst.max_abs_error, err)
            worst.max_rel_error = max(worst.max_rel_error, err / max(abs(numeric), 1e-12))
            if excess > worst_excess:
                worst_excess = excess
                worst.input_index, worst.position = i, position
                worst.analytic, worst.numeric = got, numeric
    worst.passed = bool(worst_excess <= 0) or not targets
    return worst


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, raise_exception=True, seed=0):
    """Compare ``fn``'s analytic gradients with central finite differences in float64.

    ``inputs``: a tensor or a tuple of tensors (those with ``requires_grad`` are
    checked; other arguments are passed through).  Returns True when every
    element agrees; otherwise raises ``GradcheckError`` naming the worst element
    (or returns False with ``raise_exception=False``).  ``fast=True`` checks one
    random directional derivative first (cheap for large inputs).
    """
    result = gradcheck_result(fn, inputs, eps, atol, rtol, fast=fast, seed=seed)
    if not result.passed and raise_exception:
        raise GradcheckError("gradcheck failed: " + result.describe())
    return result.passed
