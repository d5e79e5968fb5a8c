"""Activations: forward against NumPy (and PyTorch when importable), float64
gradchecks over hypothesis-drawn shapes, stability at extreme inputs."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array

shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**16)

_erf = np.vectorize(math.erf)
_C = math.sqrt(2 / math.pi)

ELEMENTWISE = {
    # name: (minicnn function, NumPy reference)
    "relu": (F.relu, lambda a: np.maximum(a, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    "elu": (lambda x: F.elu(x, alpha=1.5), lambda a: np.where(a > 0, a, 1.5 * (np.exp(a) - 1))),
    "sigmoid": (F.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (F.tanh, np.tanh),
    "gelu": (F.gelu, lambda a: a * 0.5 * (1 + _erf(a / math.sqrt(2)))),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda a: 0.5 * a * (1 + np.tanh(_C * (a + 0.044715 * a**3))),
    ),
    "softplus": (lambda x: F.softplus(x, beta=2.0), lambda a: np.log(1 + np.exp(2 * a)) / 2),
}
TORCH_NAMES = {"gelu_tanh": "gelu"}


def _away_from_zero(a):
    """Keep finite differences off the kinks at 0 (relu, leaky relu, elu's second derivative)."""
    return np.where(np.abs(a) < 1e-3, 0.5, a)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@given(shape=shapes, seed=seeds)
def test_elementwise_forward_and_gradient(device, name, shape, seed):
    fn, reference = ELEMENTWISE[name]
    a = _away_from_zero(random_array(shape, seed=seed, low=-4, high=4))
    assert_close(fn(make(a, device)), reference(a), rtol=1e-12, atol=1e-14)
    check_grad(fn, a, device=device)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_matches_torch(device, name):
    torch = pytest.importorskip("torch")
    a = _away_from_zero(random_array((5, 7), seed=3, low=-8, high=8))
    fn, _ = ELEMENTWISE[name]
    kwargs = {
        "leaky_relu": {"negative_slope": 0.2},
        "elu": {"alpha": 1.5},
        "gelu_tanh": {"approximate": "tanh"},
        "softplus": {"beta": 2.0},
    }.get(name, {})
    expected = getattr(torch.nn.functional, TORCH_NAMES.get(name, name))(torch.tensor(a), **kwargs)
    assert_close(fn(make(a, device)), expected.numpy(), rtol=1e-13, atol=1e-15)


def test_exact_gelu_through_erf_is_accurate_to_float64():
    a = np.linspace(-10, 10, 4001)
    expected = a * 0.5 * (1 + _erf(a / math.sqrt(2)))
    np.testing.assert_allclose(F.gelu(mc.tensor(a)).numpy(), expected, rtol=1e-14, atol=1e-15)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got approximate='fast'"):
        F.gelu(mc.tensor([1.0]), approximate="fast")


def test_sigmoid_tanh_elu_softplus_are_finite_for_huge_inputs(device):
    x = mc.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=mc.float64, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        np.testing.assert_allclose(F.sigmoid(x).numpy(), [0, 1 / (1 + math.exp(100)), 0.5, 1 / (1 + math.exp(-100)), 1])
        np.testing.assert_array_equal(F.tanh(x).numpy(), [-1, -1, 0, 1, 1])
        np.testing.assert_allclose(F.elu(x).numpy(), [-1, -1, 0, 100, 1000])
        np.testing.assert_allclose(F.softplus(x).numpy(), [0, 0, math.log(2), 100, 1000], atol=1e-40)


def test_sigmoid_saturates_and_its_gradient_vanishes(device):
    x = mc.tensor([-30.0, 0.0, 30.0], dtype=mc.float64, requires_grad=True, device=device)
    F.sigmoid(x).sum().backward()
    # y (1 - y) from the saved output (as PyTorch): 1 - y keeps only ~3 digits at x = 30
    np.testing.assert_allclose(x.grad.numpy(), [math.exp(-30), 0.25, math.exp(-30)], rtol=1e-2)


def test_leaky_relu_and_elu_gradients_on_the_negative_side(device):
    x = mc.tensor([-2.0, 3.0], dtype=mc.float64, requires_grad=True, device=device)
    (F.leaky_relu(x, 0.1) + F.elu(x, alpha=2.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.1 + 2.0 * math.exp(-2.0), 2.0])


# --------------------------------------------------------------- softmax family
def _np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(shape=shapes, seed=seeds, data=st.data())
def test_softmax_and_log_softmax(device, shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = random_array(shape, seed=seed, low=-3, high=3)
    expected = _np_softmax(a, axis)
    assert_close(F.softmax(make(a, device), axis=axis), expected, rtol=1e-12)
    assert_close(F.log_softmax(make(a, device), dim=axis), np.log(expected), rtol=1e-12, atol=1e-12)
    check_grad(lambda x: F.softmax(x, axis=axis), a, device=device)
    check_grad(lambda x: F.log_softmax(x, axis=axis), a, device=device)


def test_softmax_matches_torch(device):
    torch = pytest.importorskip("torch")
    a = random_array((3, 4, 5), seed=1, low=-5, high=5)
    for axis in range(3):
        assert_close(F.softmax(make(a, device), axis), torch.softmax(torch.tensor(a), axis).numpy(), rtol=1e-13)
        assert_close(
            F.log_softmax(make(a, device), axis), torch.log_softmax(torch.tensor(a), axis).numpy(), rtol=1e-13
        )


@pytest.mark.parametrize("dtype", [mc.float32, mc.float64])
def test_softmax_and_log_softmax_are_stable_at_1000(device, dtype):
    x = mc.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, -1000.0]], dtype=dtype, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, log_p = F.softmax(x, axis=1).numpy(), F.log_softmax(x, axis=1).numpy()
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(log_p, [[0, -1000, -2000], [-math.log(2), -math.log(2), -2000 - math.log(2)]], rtol=1e-6)


def test_softmax_gradient_formula_on_a_small_example(device):
    # y = softmax(x); dL/dx = y * (g - sum(g * y)) with g = [1, 0, 0] (L = y_0)
    x = mc.tensor([1.0, 2.0, 3.0], dtype=mc.float64, requires_grad=True, device=device)
    F.softmax(x, axis=0)[0].backward()
    y = _np_softmax(np.array([1.0, 2.0, 3.0]), 0)
    np.testing.assert_allclose(x.grad.numpy(), y * (np.array([1.0, 0, 0]) - y[0]))


def test_softmax_without_axis_warns_and_uses_pytorchs_implicit_axis():
    a = random_array((2, 3), seed=2)
    with pytest.warns(UserWarning, match="implicit axis"):
        out = F.softmax(mc.tensor(a))
    assert_close(out, _np_softmax(a, 1))
    with pytest.raises(TypeError, match="both axis=0 and dim=1"):
        F.softmax(mc.tensor(a), axis=0, dim=1)


@given(shape=shapes, seed=seeds, keepdims=st.booleans(), data=st.data())
def test_logsumexp(device, shape, seed, keepdims, data):
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1), st.just(tuple(range(len(shape))))))
    a = random_array(shape, seed=seed, low=-3, high=3)
    expected = np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))
    assert_close(F.logsumexp(make(a, device), axis=axis, keepdims=keepdims), expected, rtol=1e-12)
    check_grad(lambda x: F.logsumexp(x, axis, keepdims), a, device=device)


def test_logsumexp_is_stable(device):
    x = mc.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=mc.float64, device=device)
    np.testing.assert_allclose(F.logsumexp(x, dim=1, keepdim=False).numpy(), [1000 + math.log(2), -1000 + math.log(2)])


# ---------------------------------------------------------------------- maxout
@given(
    n=st.integers(1, 3), groups=st.integers(1, 3), k=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 3), max_size=2), seed=seeds,
)
def test_maxout(device, n, groups, k, spatial, seed):
    shape = (n, groups * k, *spatial)
    a = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0  # distinct: no ties
    expected = a.reshape((n, groups, k, *spatial)).max(axis=2)
    assert_close(F.maxout(make(a, device), k), expected)
    check_grad(lambda x: F.maxout(x, k), a, device=device)


def test_maxout_gradient_goes_to_the_winner_of_each_group(device):
    x = mc.tensor([[1.0, 5.0, 3.0, 2.0, 0.0, 4.0]], requires_grad=True, device=device)
    y = F.maxout(x, 3)  # groups (1, 5, 3) and (2, 0, 4)
    np.testing.assert_array_equal(y.numpy(), [[5.0, 4.0]])
    (y * mc.tensor([[10.0, 20.0]], device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 10, 0, 0, 0, 20]])


def test_maxout_on_another_axis_and_bad_pool_size():
    a = random_array((2, 6), seed=4)
    assert_close(F.maxout(mc.tensor(a), 2, axis=0), a.max(axis=0, keepdims=True))
    with pytest.raises(ValueError, match=r"has 6 channels, not a multiple of pool_size=4"):
        F.maxout(mc.tensor(a), 4, axis=1)
