"""Max/average pooling kernels, forward and backward, every registered implementation."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, kernels
from minicnn.kernels.shapes import output_shape
from tests.kernels import naive
from tests.kernels.test_im2col import implementations, on

COURSE = np.array([[4, 3, 1, 5], [1, 3, 4, 8], [4, 5, 4, 3], [6, 5, 9, 4]], dtype=float)[None, None]


@st.composite
def pool_configs(draw, dilation=True):
    """Tiny N-d pooling problems: (x shape, kernel, stride, padding <= kernel/2, dilation, ceil_mode)."""
    d = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, f // 2)) for f in kernel)
    dil = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(d))
    # n >= span - p: every window reaches the input (none lies wholly in the padding)
    smallest = [max(1, dl * (f - 1) + 1 - p) for f, p, dl in zip(kernel, padding, dil)]
    spatial = tuple(draw(st.integers(n, n + (3 if d < 3 else 1))) for n in smallest)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)
    return shape, kernel, stride, padding, dil, draw(st.booleans())


def distinct_values(shape, seed=0):
    """Values 0.1 apart in random order: no ties, so the winner of every window is unique."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def test_course_example(device):
    for which, forward in implementations("max_pool_forward", device):
        y, idx = forward(on(device, COURSE), (2, 2), (2, 2), (0, 0), (1, 1), False)
        np.testing.assert_array_equal(backend.to_numpy(y)[0, 0], [[4, 8], [6, 9]], err_msg=which)
        # flat positions h*4 + w of the winners: 4 at (0,0), 8 at (1,3), 6 at (3,0), 9 at (3,2)
        np.testing.assert_array_equal(backend.to_numpy(idx)[0, 0], [[0, 7], [12, 14]], err_msg=which)
    for which, forward in implementations("avg_pool_forward", device):
        y = forward(on(device, COURSE), (2, 2), (2, 2), (0, 0), False, True)
        np.testing.assert_allclose(backend.to_numpy(y)[0, 0], [[2.75, 4.5], [5.0, 5.0]], err_msg=which)


@given(config=pool_configs())
def test_max_pool_forward_matches_the_loops(device, config):
    shape, kernel, stride, padding, dilation, ceil_mode = config
    x = distinct_values(shape)
    expected, expected_idx = naive.max_pool(x, kernel, stride, padding, dilation, ceil_mode)
    for which, forward in implementations("max_pool_forward", device):
        y, idx = forward(on(device, x), kernel, stride, padding, dilation, ceil_mode)
        np.testing.assert_array_equal(backend.to_numpy(y), expected, err_msg=which)
        np.testing.assert_array_equal(backend.to_numpy(idx), expected_idx, err_msg=which)


def test_max_pool_ties_pick_the_first(device):
    x = np.zeros((1, 1, 2, 2))
    for which, forward in implementations("max_pool_forward", device):
        _, idx = forward(on(device, x), (2, 2), (2, 2), (0, 0), (1, 1), False)
        assert int(backend.to_numpy(idx).ravel()[0]) == 0, which


def test_max_pool_window_wholly_in_the_padding(device):
    """n = 2, f = 2, dilation 3, padding 1: the only window reads positions -1 and 2,
    both in the padding: its output is -inf, its index -1, and it passes no gradient."""
    x = np.array([[[5.0, 7.0]]])
    for which, forward in implementations("max_pool_forward", device):
        y, idx = forward(on(device, x), (2,), (1,), (1,), (3,), False)
        np.testing.assert_array_equal(backend.to_numpy(y), [[[-np.inf]]], err_msg=which)
        np.testing.assert_array_equal(backend.to_numpy(idx), [[[-1]]], err_msg=which)
        dx = kernels.implementation("max_pool_backward", which)(on(device, np.ones((1, 1, 1))), idx, x.shape)
        np.testing.assert_array_equal(backend.to_numpy(dx), [[[0.0, 0.0]]], err_msg=which)


@given(config=pool_configs())
def test_max_pool_backward_matches_the_loops(device, config):
    """Each output gradient goes to its window's winner, adding where windows share one."""
    shape, kernel, stride, padding, dilation, ceil_mode = config
    x = distinct_values(shape)
    _, idx = naive.max_pool(x, kernel, stride, padding, dilation, ceil_mode)
    g = np.random.default_rng(4).standard_normal(idx.shape)
    expected = np.zeros(shape)
    for pos in np.ndindex(*idx.shape):
        n, c = pos[:2]
        expected[(n, c) + np.unravel_index(idx[pos], shape[2:])] += g[pos]
    for which, backward in implementations("max_pool_backward", device):
        dx = backward(on(device, g), on(device, idx), shape)
        np.testing.assert_allclose(backend.to_numpy(dx), expected, rtol=1e-12, err_msg=which)


@given(config=pool_configs(dilation=False), count_include_pad=st.booleans())
def test_avg_pool_forward_matches_the_loops(device, config, count_include_pad):
    shape, kernel, stride, padding, _, ceil_mode = config
    x = np.random.default_rng(5).standard_normal(shape)
    expected = naive.avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad)
    for which, forward in implementations("avg_pool_forward", device):
        y = forward(on(device, x), kernel, stride, padding, ceil_mode, count_include_pad)
        np.testing.assert_allclose(backend.to_numpy(y), expected, rtol=1e-12, atol=1e-14, err_msg=which)


@given(config=pool_configs(dilation=False), count_include_pad=st.booleans())
def test_avg_pool_backward_is_the_adjoint(device, config, count_include_pad):
    """Average pooling is linear, so its backward is its transpose: <P x, g> = <x, P^T g>."""
    shape, kernel, stride, padding, _, ceil_mode = config
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    y = naive.avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad)
    g = rng.standard_normal(y.shape)
    for which, backward in implementations("avg_pool_backward", device):
        dx = backend.to_numpy(backward(on(device, g), shape, kernel, stride, padding, ceil_mode, count_include_pad))
        assert dx.shape == shape
        np.testing.assert_allclose(np.sum(y * g), np.sum(x * dx), rtol=1e-10, err_msg=which)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_divisor_at_the_border(device, count_include_pad):
    """3x3 window, padding 1, on a 3x3 image of ones: the corner window holds 4 ones
    among 9 taps (5 in the padding)."""
    x = np.ones((1, 1, 3, 3))
    for which, forward in implementations("avg_pool_forward", device):
        y = backend.to_numpy(forward(on(device, x), (3, 3), (2, 2), (1, 1), False, count_include_pad))
        corner = 4 / 9 if count_include_pad else 1.0
        np.testing.assert_allclose(y[0, 0], [[corner, corner], [corner, corner]], err_msg=which)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_kept(device, dtype):
    x = distinct_values((2, 3, 5, 5)).astype(dtype)
    args = ((3, 3), (2, 2), (1, 1))
    for which, forward in implementations("max_pool_forward", device):
        y, idx = forward(on(device, x), *args, (1, 1), True)
        assert y.dtype == dtype and idx.dtype == np.int64 and y.shape == (2, 3, 3, 3), which
        dx = kernels.implementation("max_pool_backward", which)(y, idx, x.shape)
        assert dx.dtype == dtype and dx.shape == x.shape, which
    for which, forward in implementations("avg_pool_forward", device):
        y = forward(on(device, x), *args, True, False)
        assert y.dtype == dtype, which
        dx = kernels.implementation("avg_pool_backward", which)(y, x.shape, *args, True, False)
        assert dx.dtype == dtype and dx.shape == x.shape, which


def test_output_shape_agrees_with_the_helper():
    x = np.zeros((1, 1, 7, 6))
    y, _ = kernels.implementation("max_pool_forward", "reference")(x, (3, 2), (2, 2), (1, 0), (1, 2), True)
    assert y.shape[2:] == output_shape((7, 6), (3, 2), (2, 2), (1, 0), (1, 2), True)


def test_registered():
    for name in ("max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward"):
        assert "reference" in kernels.available(name)
