"""max/avg pooling (1-, 2-, 3-d) and adaptive pooling: forward against the loop
definitions, float64 gradient checks over drawn configurations, the course example, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array
from tests.kernels import naive
from tests.kernels.test_pooling_kernels import COURSE, distinct_values, pool_configs

MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def test_course_example(device):
    x = make(COURSE, device)
    assert_close(F.max_pool2d(x, 2, 2)[0, 0], np.array([[4.0, 8.0], [6.0, 9.0]]))
    assert_close(F.avg_pool2d(x, 2, 2)[0, 0], np.array([[2.75, 4.5], [5.0, 5.0]]))
    assert_close(F.max_pool2d(x, 2)[0, 0], np.array([[4.0, 8.0], [6.0, 9.0]]))  # stride defaults to f
    # f = 3, s = 1 (overlapping windows): floor((4 - 3) / 1) + 1 = 2
    assert_close(F.max_pool2d(x, 3, 1)[0, 0], np.array([[5.0, 8.0], [9.0, 9.0]]))


def test_max_pool_gradient_goes_to_the_winner(device):
    x = make(COURSE, device)
    F.max_pool2d(x, 2, 2).sum().backward()
    winners = np.zeros((4, 4))
    winners[0, 0] = winners[1, 3] = winners[3, 0] = winners[3, 2] = 1
    assert_close(x.grad[0, 0], winners)
    x.grad = None
    F.avg_pool2d(x, 2, 2).sum().backward()  # every element shares its window's gradient
    assert_close(x.grad[0, 0], np.full((4, 4), 0.25))


def _max_args(config):
    shape, kernel, stride, padding, dilation, ceil_mode = config
    return shape, dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)


@given(config=pool_configs())
def test_max_pool_matches_the_loops(device, config):
    shape, kwargs = _max_args(config)
    x = distinct_values(shape)
    y, idx = MAX[len(shape) - 2](make(x, device), return_indices=True, **kwargs)
    expected, expected_idx = naive.max_pool(x, *kwargs.values())
    assert_close(y, expected)
    np.testing.assert_array_equal(idx.numpy(), expected_idx)


@given(config=pool_configs())
def test_max_pool_gradcheck(device, config):
    shape, kwargs = _max_args(config)
    check_grad(lambda t: MAX[len(shape) - 2](t, **kwargs), distinct_values(shape), device=device)


@given(config=pool_configs(dilation=False), count_include_pad=st.booleans())
def test_avg_pool_matches_the_loops(device, config, count_include_pad):
    shape, kernel, stride, padding, _, ceil_mode = config
    x = random_array(shape)
    y = AVG[len(shape) - 2](make(x, device), kernel, stride, padding, ceil_mode, count_include_pad)
    assert_close(y, naive.avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad), rtol=1e-12)


@given(config=pool_configs(dilation=False), count_include_pad=st.booleans())
def test_avg_pool_gradcheck(device, config, count_include_pad):
    shape, kernel, stride, padding, _, ceil_mode = config
    fn = AVG[len(shape) - 2]
    check_grad(lambda t: fn(t, kernel, stride, padding, ceil_mode, count_include_pad), random_array(shape),
               device=device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_and_contiguity(device, dtype):
    x = make(distinct_values((2, 3, 7, 6)), device, dtype=dtype)
    for y in (F.max_pool2d(x, 3, 2, 1, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
              F.adaptive_avg_pool2d(x, (3, 4)), F.adaptive_max_pool2d(x, (3, 4)), F.adaptive_avg_pool2d(x, 1)):
        assert y.dtype == dtype and y.data.flags.c_contiguous


def test_unbatched_input(device):
    x = distinct_values((3, 6, 6))
    y, idx = F.max_pool2d(make(x, device), 2, return_indices=True)
    assert y.shape == (3, 3, 3) and idx.shape == (3, 3, 3)
    assert_close(y, naive.max_pool(x[None], (2, 2), (2, 2), (0, 0), (1, 1), False)[0][0])


# -------------------------------------------------------------- adaptive pooling
@st.composite
def adaptive_configs(draw):
    d = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 7 if d < 3 else 4)) for _ in range(d))
    out = tuple(draw(st.integers(1, n + 1)) for n in spatial)  # also more outputs than inputs
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial), out


ADAPTIVE = {
    "avg": {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d},
    "max": {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d},
}


@given(config=adaptive_configs())
def test_adaptive_pools_match_the_loops(device, config):
    shape, out = config
    x = distinct_values(shape)
    d = len(out)
    assert_close(ADAPTIVE["avg"][d](make(x, device), out), naive.adaptive_pool(x, out, np.mean), rtol=1e-12)
    y, idx = ADAPTIVE["max"][d](make(x, device), out, return_indices=True)
    assert_close(y, naive.adaptive_pool(x, out, np.max))
    # every index points at the value it reports
    planes = x.reshape(shape[0] * shape[1], -1)
    picked = np.take_along_axis(planes, idx.numpy().reshape(shape[0] * shape[1], -1), axis=1)
    np.testing.assert_array_equal(picked.reshape(y.shape), y.numpy())


@given(config=adaptive_configs())
def test_adaptive_pools_gradcheck(device, config):
    shape, out = config
    d = len(out)
    check_grad(lambda t: ADAPTIVE["avg"][d](t, out), random_array(shape), device=device)
    check_grad(lambda t: ADAPTIVE["max"][d](t, out), distinct_values(shape), device=device)


def test_adaptive_bins_overlap_as_in_pytorch(device):
    """5 elements into 3 bins: [0, 2), [1, 4), [3, 5)."""
    x = make(np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), device)
    assert_close(F.adaptive_avg_pool1d(x, 3), np.array([[[1.5, 3.0, 4.5]]]))
    assert_close(F.adaptive_max_pool1d(x, 3), np.array([[[2.0, 4.0, 5.0]]]))


def test_global_pooling(device):
    x = random_array((2, 3, 5, 4))
    t = make(x, device)
    assert_close(F.adaptive_avg_pool2d(t, 1), x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)
    assert_close(F.adaptive_avg_pool2d(t, (None, 1)), x.mean(axis=3, keepdims=True), rtol=1e-12)
    y, idx = F.adaptive_max_pool2d(t, (1, 1), return_indices=True)
    assert_close(y, x.max(axis=(2, 3), keepdims=True))
    np.testing.assert_array_equal(idx.numpy()[..., 0, 0], x.reshape(2, 3, -1).argmax(axis=2))
    check_grad(lambda a: F.adaptive_avg_pool2d(a, 1), x, device=device)
    check_grad(lambda a: F.adaptive_max_pool2d(a, 1), distinct_values((2, 3, 5, 4)), device=device)


def test_larger_gradchecks(device):
    x = distinct_values((4, 3, 11, 10))
    check_grad(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), x, device=device, fast=True)
    check_grad(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x, device=device,
               fast=True)
    check_grad(lambda t: F.adaptive_avg_pool2d(t, (4, 3)), x, device=device, fast=True)


# ------------------------------------------------------------------ PyTorch agrees
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_matches_torch(device, ceil_mode, count_include_pad):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = distinct_values((2, 3, 9, 8))
    t, tx = make(x, device), torch.tensor(x)
    y, idx = F.max_pool2d(t, (3, 2), (2, 3), (1, 1), (1, 2), ceil_mode, return_indices=True)
    ty, tidx = TF.max_pool2d(tx, (3, 2), (2, 3), (1, 1), (1, 2), ceil_mode, return_indices=True)
    assert_close(y, ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    y = F.avg_pool2d(t, 3, 2, 1, ceil_mode, count_include_pad)
    assert_close(y, TF.avg_pool2d(tx, 3, 2, 1, ceil_mode, count_include_pad).numpy(), rtol=1e-12)
    for out in [(4, 3), (5, 5), 1]:
        assert_close(F.adaptive_avg_pool2d(t, out), TF.adaptive_avg_pool2d(tx, out).numpy(), rtol=1e-12)
        y, idx = F.adaptive_max_pool2d(t, out, return_indices=True)
        ty, tidx = TF.adaptive_max_pool2d(tx, out, return_indices=True)
        assert_close(y, ty.numpy())
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


# ------------------------------------------------------------------------ errors
def test_bad_arguments(device):
    x = make(np.zeros((1, 2, 4, 4)), device)
    with pytest.raises(ValueError, match=r"max_pool2d: padding must be at most half of the kernel size, "
                                         r"got padding=\(2, 2\) and kernel_size=\(3, 3\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel size \(5, 5\) is larger than the padded input "
                                         r"\(4, 4\).*output size would be \(0, 0\)"):
        F.avg_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"max_pool2d: expected an input of shape \(N, C, H, W\) or \(C, H, W\), "
                                         r"got shape \(4, 4\)"):
        F.max_pool2d(make(np.zeros((4, 4)), device), 2)
    with pytest.raises(ValueError, match=r"max_pool1d: expected an input of shape \(N, C, L\)"):
        F.max_pool1d(x, 2)
    with pytest.raises(ValueError, match=r"kernel_size must be positive"):
        F.max_pool2d(x, 0)
    with pytest.raises(TypeError, match=r"kernel_size must be an int or a tuple of 2 ints"):
        F.avg_pool2d(x, (2, 2, 2))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(x, (0, 2))
    with pytest.raises(TypeError, match=r"adaptive_max_pool2d: output_size must be an int or a tuple of 2"):
        F.adaptive_max_pool2d(x, (1, 2, 3))
