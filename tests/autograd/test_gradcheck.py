"""gradcheck must pass correct gradients and catch wrong ones, naming the worst element."""
import numpy as np
import pytest

import minicnn as mc
from minicnn import Function
from tests.helpers import make


class WrongSquare(Function):
    """y = x^2 with a deliberately wrong backward at one position."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        grad = 2 * self.x * g
        grad.reshape(-1)[3] += 0.5  # the bug
        return grad


def test_passes_on_a_correct_function(device):
    x = make(np.random.default_rng(0).normal(size=(3, 4)), device)
    assert mc.gradcheck(lambda t: (t * t).exp().sum(axis=1), [x])


def test_reports_the_worst_element_on_failure():
    x = make(np.random.default_rng(0).normal(size=(2, 3)))
    with pytest.raises(mc.GradcheckError, match=r"input 0 at position \(1, 0\)") as info:
        mc.gradcheck(lambda t: WrongSquare.apply(t), [x])
    assert "analytic" in str(info.value) and "numeric" in str(info.value)
    assert mc.gradcheck(lambda t: WrongSquare.apply(t), [x], raise_exception=False) is False


def test_fast_mode_passes_and_catches(device):
    x = make(np.random.default_rng(1).normal(size=(20, 30)), device)
    assert mc.gradcheck(lambda t: (t * t).sum(axis=0), [x], fast=True)
    with pytest.raises(mc.GradcheckError, match=r"position \(0, 3\).*fast .* then elementwise"):
        mc.gradcheck(lambda t: WrongSquare.apply(t), [x], fast=True)


def test_several_inputs_and_non_tensor_arguments():
    a, b = make([[1.0, 2.0]]), make([[3.0], [4.0]])
    assert mc.gradcheck(lambda x, y, k: (x @ y) * k, [a, b, 3.0])


def test_float32_inputs_are_rejected():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="input 0 has dtype float32.*float64"):
        mc.gradcheck(lambda t: t * 2.0, [x])


def test_result_reports_errors():
    from minicnn.autograd import gradcheck_result

    result = gradcheck_result(lambda t: t.exp(), [make([0.1, 0.2])])
    assert result.passed and result.max_abs_error < 1e-7
