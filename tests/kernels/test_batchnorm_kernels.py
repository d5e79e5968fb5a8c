"""The Numba batch-norm kernel beyond ``test_fast_kernels``: ``batch_norm_affine``
against the reference and against its definition, gamma xhat + beta."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("numba")

from minicnn import kernels  # noqa: E402

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _case(shape, dtype, seed, affine, offset=0.0):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (rng.standard_normal(shape) + offset).astype(dtype)
    mean = rng.standard_normal(C).astype(dtype) + dtype(offset)
    inv_std = rng.uniform(0.5, 2, C).astype(dtype)
    gamma = rng.standard_normal(C).astype(dtype) if affine else None
    beta = rng.standard_normal(C).astype(dtype) if affine else None
    return x, mean, inv_std, gamma, beta


@pytest.mark.parametrize("dtype", DTYPES)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5)).flatmap(
        lambda nc: st.lists(st.integers(1, 6), max_size=3).map(lambda sp: (*nc, *sp))),
    affine=st.booleans(),
    offset=st.floats(-50, 50),
    seed=st.integers(0, 2**16),
)
def test_affine_matches_the_reference_and_the_definition(dtype, shape, affine, offset, seed):
    x, mean, inv_std, gamma, beta = _case(shape, dtype, seed, affine, offset)
    scale = inv_std if gamma is None else inv_std * gamma
    reference = kernels.implementation("batch_norm_affine", "reference")
    fast = kernels.implementation("batch_norm_affine", "numba")
    got, expected = fast(x, mean, scale, beta), reference(x, mean, scale, beta)
    assert got.dtype == expected.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])
    channel = (1, -1, *(1,) * (x.ndim - 2))
    xhat = (x - mean.reshape(channel)) * inv_std.reshape(channel)  # the definition: gamma xhat + beta
    y = xhat * (1 if gamma is None else gamma.reshape(channel)) + (0 if beta is None else beta.reshape(channel))
    np.testing.assert_allclose(got, y, **TOLERANCE[dtype])


def test_non_contiguous_input_is_accepted():
    x, mean, inv_std, gamma, beta = _case((6, 4, 5, 7), np.float64, 2, True)
    view = x.transpose(0, 1, 3, 2)  # not C-contiguous
    got = kernels.implementation("batch_norm_affine", "numba")(view, mean, inv_std, beta)
    expected = kernels.implementation("batch_norm_affine", "reference")(view, mean, inv_std, beta)
    np.testing.assert_allclose(got, expected, **TOLERANCE[np.float64])
