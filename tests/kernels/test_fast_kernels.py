"""Every fast kernel against the reference, over hypothesis-drawn shapes, in float32 and float64.

The fast implementations under test (the ``fast`` fixture):

* ``numba``: the CPU kernels (``kernels/numba_*.py``);
* ``cuda-emulated``: the CUDA kernels' source (``kernels/cuda_*.py``) compiled
  for the CPU by ``cuda_emulator`` and run one thread at a time, so that the
  GPU code is checked on machines without a GPU;
* ``cupy``: the same CUDA kernels on a real GPU (skipped without one).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import backend, kernels
from minicnn.kernels.cuda_emulator import compiler
from minicnn.kernels.cuda_support import CUDA_KERNELS, LazyCudaKernel
from minicnn.kernels.numba_support import numba_installed
from minicnn.kernels.shapes import output_shape
from tests.kernels.test_im2col import window_configs

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _on_gpu(func):
    """``func`` taking and returning NumPy arrays, run on CuPy copies of them."""
    def to_gpu(a):
        return backend.to_device(a, backend.Device("cuda")) if isinstance(a, np.ndarray) else a

    def to_host(out):
        return tuple(map(to_host, out)) if isinstance(out, tuple) else backend.to_numpy(out)

    return lambda *args: to_host(func(*map(to_gpu, args)))


def _emulated(name):
    """The CUDA implementation of kernel ``name``, run on NumPy arrays by the CPU emulator
    (through a fresh ``LazyCudaKernel``, so its dtype and size fallbacks are tested too)."""
    return LazyCudaKernel(name, CUDA_KERNELS[name])


FAST = {
    "numba": lambda name: kernels.implementation(name, "numba"),
    "cuda-emulated": _emulated,
    "cupy": lambda name: _on_gpu(kernels.implementation(name, "cupy")),
}
_SKIP = {
    "numba": None if numba_installed() else "Numba is not installed",
    "cuda-emulated": None if compiler() else "no C++ compiler to emulate the CUDA kernels",
    "cupy": None if mc.cuda.is_available() else f"no GPU: {mc.cuda.unavailable_reason()}",
}


@pytest.fixture(params=[pytest.param(k, marks=pytest.mark.skipif(_SKIP[k] is not None, reason=str(_SKIP[k])))
                        for k in FAST])
def fast(request):
    """``fast(name)``: the implementation of kernel ``name`` under test (NumPy in, NumPy out)."""
    return FAST[request.param]


def assert_same(got, expected, dtype):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


def check_columns(fast, dtype, config, seed, out):
    """im2col (a copy: exactly equal) and col2im of the fast kernel against the reference;
    with ``out``, col2im writes into a NaN-filled array (every pixel must be written)."""
    shape, kernel, stride, padding, dilation = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    cols = kernels.implementation("im2col", "reference")(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(fast("im2col")(x, kernel, stride, padding, dilation), cols)
    dcols = rng.standard_normal(cols.shape).astype(dtype)
    extra = (np.full(shape, np.nan, dtype),) if out else ()
    assert_same(fast("col2im")(dcols, shape, kernel, stride, padding, dilation, *extra),
                kernels.implementation("col2im", "reference")(dcols, shape, kernel, stride, padding, dilation), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=window_configs(), seed=st.integers(0, 2**16))
def test_im2col_and_col2im_match_the_reference(fast, dtype, config, seed):
    check_columns(fast, dtype, config, seed, out=False)


@st.composite
def pool_configs(draw):
    """Pooling geometry as PyTorch allows it: padding at most half the kernel."""
    d = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, f // 2)) for f in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    spatial = tuple(draw(st.integers(dl * (f - 1) + 1, dl * (f - 1) + 4)) for f, dl in zip(kernel, dilation))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *spatial)
    return shape, kernel, stride, padding, dilation, draw(st.booleans()), draw(st.booleans())


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pooling_matches_the_reference(fast, dtype, config, seed):
    shape, kernel, stride, padding, dilation, ceil_mode, _ = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("max_pool_forward", "reference"), fast("max_pool_forward")
    values, indices = reference(x, kernel, stride, padding, dilation, ceil_mode)
    got_values, got_indices = fast_kernel(x, kernel, stride, padding, dilation, ceil_mode)
    assert_same(got_values, values, dtype)
    np.testing.assert_array_equal(got_indices, indices)
    g = rng.standard_normal(values.shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("max_pool_backward", "reference"), fast("max_pool_backward")
    assert_same(fast_kernel(g, indices, shape), reference(g, indices, shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=pool_configs(), seed=st.integers(0, 2**16))
def test_avg_pooling_matches_the_reference(fast, dtype, config, seed):
    shape, kernel, stride, padding, _, ceil_mode, count_include_pad = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    args = (kernel, stride, padding, ceil_mode, count_include_pad)
    reference, fast_kernel = kernels.implementation("avg_pool_forward", "reference"), fast("avg_pool_forward")
    out = reference(x, *args)
    assert_same(fast_kernel(x, *args), out, dtype)
    g = rng.standard_normal(out.shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("avg_pool_backward", "reference"), fast("avg_pool_backward")
    assert_same(fast_kernel(g, shape, *args), reference(g, shape, *args), dtype)


def test_max_pooling_propagates_nan_like_the_reference(fast):
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    reference, fast_kernel = kernels.implementation("max_pool_forward", "reference"), fast("max_pool_forward")
    args = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    (values, indices), (got_values, got_indices) = reference(x, *args), fast_kernel(x, *args)
    np.testing.assert_array_equal(got_values, values)  # NaN where the reference has NaN
    np.testing.assert_array_equal(got_indices, indices)


@pytest.mark.parametrize("dtype", DTYPES)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
        lambda nc: st.lists(st.integers(1, 5), max_size=3).map(lambda sp: (*nc, *sp))
    ).filter(lambda s: np.prod(s) > s[1]),
    offset=st.floats(-100, 100),
    affine=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batch_norm_kernels_match_the_reference(fast, dtype, shape, offset, affine, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) + offset).astype(dtype)  # an offset tests the variance's stability
    C = shape[1]
    reference, fast_kernel = kernels.implementation("batch_norm_statistics", "reference"), fast("batch_norm_statistics")
    mean, var = reference(x)
    got_mean, got_var = fast_kernel(x)
    tol = dict(rtol=1e-4, atol=1e-4 * (1 + abs(offset))) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got_mean, mean, **tol)
    np.testing.assert_allclose(got_var, var, rtol=tol["rtol"] * 10, atol=tol["atol"])
    assert got_mean.dtype == got_var.dtype == x.dtype

    inv_std = (1 / np.sqrt(var + 1e-5)).astype(dtype)
    gamma = rng.standard_normal(C).astype(dtype) if affine else None
    beta = rng.standard_normal(C).astype(dtype) if affine else None
    scale = inv_std if gamma is None else inv_std * gamma
    reference, fast_kernel = kernels.implementation("batch_norm_affine", "reference"), fast("batch_norm_affine")
    y = reference(x, mean, scale, beta)
    assert_same(fast_kernel(x, mean, scale, beta), y, dtype)
    xhat = (x - mean.reshape(1, -1, *(1,) * (x.ndim - 2))) * inv_std.reshape(1, -1, *(1,) * (x.ndim - 2))
    expected_y = xhat * (1 if gamma is None else gamma.reshape(1, -1, *(1,) * (x.ndim - 2)))
    expected_y = expected_y + (0 if beta is None else beta.reshape(1, -1, *(1,) * (x.ndim - 2)))
    np.testing.assert_allclose(y, expected_y, **(dict(rtol=1e-4, atol=1e-4) if dtype == np.float32
                                                  else TOLERANCE[dtype]))  # independently: gamma xhat + beta

    g = rng.standard_normal(shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("batch_norm_backward", "reference"), fast("batch_norm_backward")
    expected = reference(g, x, mean, inv_std, scale)
    axes = (0, *range(2, x.ndim))
    np.testing.assert_allclose(expected[2], (g * xhat).sum(axis=axes), rtol=1e-3 if dtype == np.float32 else 1e-9,
                               atol=1e-3 if dtype == np.float32 else 1e-9)  # sum of g xhat, from x
    for got, expected in zip(fast_kernel(g, x, mean, inv_std, scale), expected):
        np.testing.assert_allclose(got, expected, **(dict(rtol=1e-4, atol=1e-4) if dtype == np.float32
                                                       else TOLERANCE[dtype]))
        assert got.dtype == expected.dtype


def test_unsupported_dtypes_run_the_reference(fast):
    """float16 (and integer max pooling) is not compiled: the documented fallback, no warning."""
    x = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    reference, fast_kernel = kernels.implementation("max_pool_forward", "reference"), fast("max_pool_forward")
    for array in (x, x.astype(np.float16)):
        args = (array, (2, 2), (1, 1), (0, 0), (1, 1), False)
        np.testing.assert_array_equal(fast_kernel(*args)[0], reference(*args)[0])
    half = x.astype(np.float16)
    reference, fast_kernel = kernels.implementation("im2col", "reference"), fast("im2col")
    got = fast_kernel(half, (3, 3), (1, 1), (1, 1), (1, 1))
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, reference(half, (3, 3), (1, 1), (1, 1), (1, 1)))


def test_output_shapes_agree_with_the_shape_helper(fast):
    x = np.zeros((2, 3, 9, 7), np.float32)
    cols = fast("im2col")(x, (3, 2), (2, 1), (1, 0), (1, 2))
    assert cols.shape == (2, 3 * 3 * 2, int(np.prod(output_shape((9, 7), (3, 2), (2, 1), (1, 0), (1, 2)))))


# The geometries that take dedicated fast paths, which hypothesis rarely draws:
# 2x2/stride-2 pooling tiles (LeNet-5, VGG) and "same" convolutions (ResNet).
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spatial", [(4, 4), (5, 7), (1, 3), (28, 28), (2, 9), (6, 32), (5, 35)])  # ow >= 16: rows
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_2x2_pooling_tiles_match_the_reference(fast, dtype, spatial, ceil_mode):
    rng = np.random.default_rng(sum(spatial))
    # small integers: plenty of ties, so "the first maximum wins" is tested too
    x = rng.integers(-2, 3, size=(2, 3, *spatial)).astype(dtype)
    x.flat[::7] = np.nan
    args = ((2, 2), (2, 2), (0, 0))
    reference, fast_kernel = kernels.implementation("max_pool_forward", "reference"), fast("max_pool_forward")
    values, indices = reference(x, *args, (1, 1), ceil_mode)
    got_values, got_indices = fast_kernel(x, *args, (1, 1), ceil_mode)
    np.testing.assert_array_equal(got_values, values)
    np.testing.assert_array_equal(got_indices, indices)
    x = rng.standard_normal(x.shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("avg_pool_forward", "reference"), fast("avg_pool_forward")
    out = reference(x, *args, ceil_mode, True)
    assert_same(fast_kernel(x, *args, ceil_mode, True), out, dtype)
    g = rng.standard_normal(out.shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("avg_pool_backward", "reference"), fast("avg_pool_backward")
    assert_same(fast_kernel(g, x.shape, *args, ceil_mode, True), reference(g, x.shape, *args, ceil_mode, True), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [
    ((2, 3, 8, 8), (3, 3), (1, 1), (1, 1), (1, 1)),      # ResNet's 3x3 "same"
    ((2, 1, 28, 28), (5, 5), (1, 1), (2, 2), (1, 1)),    # LeNet-5's conv1
    ((1, 2, 6, 5), (3, 3), (1, 1), (2, 2), (2, 2)),      # dilated "same"
    ((1, 2, 6, 5), (5, 3), (1, 1), (1, 1), (1, 1)),      # rows in the padding at both ends
    ((1, 2, 3, 4, 5), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    ((2, 2, 9), (3,), (1,), (1,), (1,)),
])
def test_same_convolution_columns_match_the_reference(fast, dtype, config):
    shape, kernel, stride, padding, dilation = config
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("im2col", "reference"), fast("im2col")
    cols = reference(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(fast_kernel(x, kernel, stride, padding, dilation), cols)
    reference, fast_kernel = kernels.implementation("col2im", "reference"), fast("col2im")
    assert_same(fast_kernel(cols, shape, kernel, stride, padding, dilation),
                reference(cols, shape, kernel, stride, padding, dilation), dtype)


# 2-d stride-1 geometry has its own Numba kernels (strips of the plane shifted per tap column,
# copied as whole runs); 'same' widths (ow == W) build and sum the strips as runs too.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", [
    ((2, 3, 7, 5), (3, 3), (1, 1), (1, 1), (1, 1)),      # odd sizes, 'same'
    ((1, 2, 5, 3), (3, 3), (1, 1), (4, 5), (1, 1)),      # padding beyond the kernel's reach
    ((1, 2, 4, 6), (3, 5), (1, 1), (0, 2), (1, 1)),      # no row padding, 'same' columns
    ((1, 2, 6, 4), (5, 1), (1, 1), (2, 3), (1, 1)),      # a 5x1 kernel with wider column padding
    ((2, 2, 9, 7), (3, 3), (1, 1), (3, 1), (2, 3)),      # dilation, rows and columns differently
    ((1, 1, 1, 1), (3, 3), (1, 1), (1, 1), (1, 1)),      # one pixel
    ((1, 2, 10, 10), (5, 5), (1, 1), (0, 0), (1, 1)),    # 'valid' (LeNet-5's conv2)
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 1), (1, 1)),      # stride 2: the general kernels
    ((1, 2, 7, 9), (3, 3), (1, 2), (2, 1), (1, 2)),      # stride 1 along rows only: general
])
def test_stride1_2d_columns_match_the_reference(fast, dtype, config):
    shape, kernel, stride, padding, dilation = config
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("im2col", "reference"), fast("im2col")
    cols = reference(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(fast_kernel(x, kernel, stride, padding, dilation), cols)
    garbage = np.full(cols.shape, np.nan, dtype)  # out=: every element is written
    np.testing.assert_array_equal(fast_kernel(x, kernel, stride, padding, dilation, garbage), cols)
    dcols = rng.standard_normal(cols.shape).astype(dtype)
    reference, fast_kernel = kernels.implementation("col2im", "reference"), fast("col2im")
    expected = reference(dcols, shape, kernel, stride, padding, dilation)
    assert_same(fast_kernel(dcols, shape, kernel, stride, padding, dilation), expected, dtype)
    garbage = np.full(shape, np.nan, dtype)
    assert_same(fast_kernel(dcols, shape, kernel, stride, padding, dilation, garbage), expected, dtype)


@st.composite
def stride1_2d_configs(draw):
    """2-d, stride 1, any padding (also beyond the kernel's reach) and dilation."""
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(2))
    padding = tuple(draw(st.integers(0, 5)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(2))
    smallest = [max(1, dl * (f - 1) + 1 - 2 * p) for f, p, dl in zip(kernel, padding, dilation)]
    spatial = tuple(draw(st.integers(n, n + 6)) for n in smallest)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), *spatial)
    return shape, kernel, (1, 1), padding, dilation


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=stride1_2d_configs(), seed=st.integers(0, 2**16))
def test_stride1_2d_kernels_match_the_reference_on_drawn_shapes(fast, dtype, config, seed):
    check_columns(fast, dtype, config, seed, out=True)
