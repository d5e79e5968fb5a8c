"""+ - * / ** @ and negation: forward against NumPy, float64 gradchecks over
hypothesis-drawn broadcasting pairs (0-d and size-1 axes included)."""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minicnn as mc
from minicnn.ops import sum_to_shape
from tests.helpers import assert_close, check_grad, make, random_array

pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=pairs)
def test_binary_ops_broadcast_forward_and_gradcheck(device, name, shapes):
    op = BINARY[name]
    (sa, sb), _ = shapes
    a = random_array(sa, seed=1)
    b = random_array(sb, seed=2, low=0.5, high=2.0)  # keep away from 0 for div
    assert_close(op(make(a, device), make(b, device)), op(a, b))
    check_grad(op, a, b, device=device)


@given(shapes=pairs)
def test_pow_with_tensor_exponent(device, shapes):
    (sa, sb), _ = shapes
    a = random_array(sa, seed=3, low=0.5, high=2.0)
    b = random_array(sb, seed=4)
    assert_close(make(a, device) ** make(b, device), a**b)
    check_grad(lambda x, y: x**y, a, b, device=device)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5])
def test_pow_with_number_exponent(device, exponent):
    a = random_array((2, 3), low=0.5, high=2.0)
    assert_close(make(a, device) ** exponent, a**exponent)
    check_grad(lambda x: x**exponent, a, device=device)


def test_numbers_on_the_left(device):
    a = random_array((3,), low=0.5, high=2.0)
    x = make(a, device)
    assert_close(2.0 - x, 2.0 - a)
    assert_close(2.0 / x, 2.0 / a)
    assert_close(2.0**x, 2.0**a)
    assert_close(3 * x + 1, 3 * a + 1)
    check_grad(lambda t: 2.0 / t - 3.0**t, a, device=device)


def test_pow_gradient_at_zero_base_is_finite(device):
    x = mc.tensor([0.0, 1.0], dtype=mc.float64, requires_grad=True, device=device)
    e = mc.tensor([2.0, 2.0], dtype=mc.float64, requires_grad=True, device=device)
    (x**e).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2.0])


def test_neg(device):
    a = random_array((2, 2))
    assert_close(-make(a, device), -a)
    check_grad(lambda x: -x, a, device=device)


def test_float32_stays_float32_with_python_numbers(device):
    x = mc.ones(3, device=device)
    assert (x * 1.0001 + 0.001).dtype == mc.float32
    assert (2.5 / x).dtype == mc.float32


def test_array_operand_on_the_left_defers_to_tensor():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, mc.Tensor) and y.requires_grad
    assert_close(y, [3.0, 8.0])


matmul_shapes = st.sampled_from(
    [
        ((3,), (3,)),  # dot
        ((3,), (3, 2)),  # vector @ matrix
        ((2, 3), (3,)),  # matrix @ vector
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),  # batched @ matrix
        ((2, 3), (5, 3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((2, 1, 2, 3), (4, 3, 2)),  # batch axes broadcast
        ((4,), (2, 4, 3)),
    ]
)


@given(shapes=matmul_shapes)
def test_matmul_forward_and_gradcheck(device, shapes):
    sa, sb = shapes
    a, b = random_array(sa, seed=5), random_array(sb, seed=6)
    assert_close(make(a, device) @ make(b, device), a @ b)
    check_grad(lambda x, y: x @ y, a, b, device=device)


def test_sum_to_shape_inverts_broadcasting():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(sum_to_shape(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_allclose(sum_to_shape(g, ()), g.sum())
    assert sum_to_shape(g, (2, 3, 4)) is g


# ----------------------------------------------------------------- bad input
def test_broadcast_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        mc.ones(2, 3) + mc.ones(4)


def test_matmul_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        mc.ones(2, 3) @ mc.ones(4, 5)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        mc.ones(()) @ mc.ones(3)
