"""The ReLU kernels: the Numba implementation against the reference over drawn shapes,
its special values, its fallbacks, and the op that uses them."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import kernels

numba = pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]
shapes = st.lists(st.integers(0, 7), min_size=0, max_size=4).map(tuple)


def _pair(name):
    return kernels.implementation(name, "reference"), kernels.implementation(name, "numba")


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_relu_kernels_match_the_reference(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    reference, fast = _pair("relu_forward")
    y = fast(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, reference(x))
    np.testing.assert_array_equal(y, np.where(x > 0, x, 0))  # independently: x where positive, else 0
    reference, fast = _pair("relu_backward")
    dx = fast(g, y)
    assert dx.dtype == g.dtype and dx.shape == g.shape
    np.testing.assert_array_equal(dx, reference(g, y))
    np.testing.assert_array_equal(dx, np.where(x > 0, g, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_special_values_follow_the_reference(dtype):
    x = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, -1.5, 2.5], dtype)
    forward, backward = _pair("relu_forward"), _pair("relu_backward")
    y = forward[1](x)
    np.testing.assert_array_equal(y, forward[0](x))  # NaN stays NaN, -inf -> 0, inf stays
    assert np.isnan(y[0]) and y[3] == np.inf and y[4] == 0
    g = np.array([1, np.nan, np.inf, 2, np.nan, 3, np.inf], dtype)
    # a product, as the reference: a non-finite gradient behind a zero output is not hidden
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(backward[1](g, y), backward[0](g, y))


def test_non_contiguous_and_other_dtypes_run_the_reference():
    x = np.random.default_rng(1).standard_normal((4, 6, 5))
    view = x.transpose(2, 0, 1)[::2]  # strided: the flat kernel does not apply
    fast = kernels.implementation("relu_forward", "numba")
    np.testing.assert_array_equal(fast(view), np.maximum(view, 0))
    for array in (x.astype(np.float16), np.arange(-3, 4)):
        got = fast(array)
        assert got.dtype == array.dtype
        np.testing.assert_array_equal(got, np.maximum(array, 0))
    g = np.ones(7, np.float32)
    np.testing.assert_array_equal(kernels.implementation("relu_backward", "numba")(g, np.arange(-3.0, 4.0)),
                                  [0, 0, 0, 0, 1, 1, 1])  # y of another dtype: the reference


def test_relu_op_uses_the_kernels_and_gives_the_same_gradient():
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(np.float32)
    results = []
    before = kernels.current()
    try:
        for setting in ("auto", "numpy"):
            kernels.use(setting)
            t = mc.tensor(x, requires_grad=True)
            y = mc.relu(t)
            (y * mc.tensor(np.arange(60, dtype=np.float32).reshape(3, 4, 5))).sum().backward()
            results.append((y.numpy(), t.grad.numpy()))
    finally:
        kernels.use(before)
    assert kernels.choose("relu_forward", on_gpu=False) == "numba"
    for got, expected in zip(*results):
        np.testing.assert_array_equal(got, expected)
