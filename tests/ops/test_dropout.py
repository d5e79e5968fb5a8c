"""dropout / dropout2d: statistics of the mask, inverted scaling, evaluation
identity, reproducibility under manual_seed, gradient = the same mask."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import check_grad, make, random_array


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_statistics(device, p):
    x = mc.ones(200_000, dtype=mc.float64, device=device)
    y = F.dropout(x, p).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - p) < 0.01  # the fraction zeroed is about p
    np.testing.assert_allclose(y[~dropped], 1 / (1 - p))  # the rest scaled by 1/(1-p)
    assert abs(y.mean() - 1.0) < 0.03  # so the mean is preserved


@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_dropout_gradient_is_the_same_mask(device, p, seed):
    a = random_array((3, 4), seed=seed)

    def fn(x):
        mc.manual_seed(seed)  # the same mask on every evaluation of the check
        return F.dropout(x, p)

    check_grad(fn, a, device=device)
    x = make(a, device)
    y = fn(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy() / a)  # dL/dx = mask = y / x


def test_evaluation_and_p_zero_are_the_identity_and_p_one_zeros(device):
    x = mc.tensor(random_array((3, 4)), device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(mc.ones(2, 3, 4, 4), 0.3, training=False).numpy().min() == 1
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((3, 4)))


def test_reproducible_under_manual_seed(device):
    x = mc.ones(1000, device=device)
    mc.manual_seed(123)
    first, second = F.dropout(x).numpy(), F.dropout(x).numpy()
    mc.manual_seed(123)
    np.testing.assert_array_equal(F.dropout(x).numpy(), first)
    np.testing.assert_array_equal(F.dropout(x).numpy(), second)
    assert not np.array_equal(first, second)  # a fresh mask on every call


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout2d_zeros_whole_channels(device, p):
    x = mc.ones(64, 128, 3, 5, device=device)
    y = F.dropout2d(x, p).numpy()
    per_channel = y.reshape(64, 128, -1)
    zero_channels = (per_channel == 0).all(axis=2)
    kept_channels = np.isclose(per_channel, 1 / (1 - p)).all(axis=2)
    assert np.all(zero_channels | kept_channels)  # each channel all dropped or all kept
    assert abs(zero_channels.mean() - p) < 0.03


def test_dropout2d_gradient(device):
    a = random_array((2, 3, 2, 2), seed=1)

    def fn(x):
        mc.manual_seed(7)
        return F.dropout2d(x, 0.5)

    check_grad(fn, a, device=device)


def test_bad_probability_and_shape():
    with pytest.raises(ValueError, match=r"between 0 and 1, but got p=1.5"):
        F.dropout(mc.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"between 0 and 1, but got p=-0.1"):
        F.dropout2d(mc.ones(1, 1, 2, 2), -0.1)
    with pytest.raises(ValueError, match=r"dropout2d: expected input of shape \(N, C, H, W\), got \(2, 3\)"):
        F.dropout2d(mc.ones(2, 3))
