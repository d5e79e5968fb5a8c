"""Test helpers: float64 tensors on a device, gradient checks, NumPy comparisons."""
import numpy as np

import minicnn as mc


def make(array, device="cpu", requires_grad=True, dtype=np.float64):
    """A leaf tensor on ``device`` holding ``array`` (float64 by default)."""
    return mc.tensor(np.asarray(array, dtype=dtype), requires_grad=requires_grad, device=device)


def random_array(shape, seed=0, low=-1.0, high=1.0):
    """Reproducible float64 values in [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def check_grad(fn, *arrays, device="cpu", fast=False, **tolerances):
    """Gradient-check ``fn`` on float64 copies of ``arrays`` on ``device``."""
    inputs = [make(a, device) for a in arrays]
    assert mc.gradcheck(fn, inputs, fast=fast, **tolerances)


def assert_close(tensor, expected, rtol=1e-6, atol=1e-8):
    """Compare a tensor (any device) with a NumPy array."""
    got = tensor.numpy() if isinstance(tensor, mc.Tensor) else np.asarray(tensor)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
