"""batch_norm: forward against NumPy (and PyTorch), gradchecks in training and
evaluation, the running-statistics update, errors raised before any state changes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array

seeds = st.integers(0, 2**16)


@st.composite
def bn_shapes(draw):
    """(N, C) or (N, C, *spatial) with at least 2 values per channel."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if n * int(np.prod(spatial)) < 2:
        n = 2
    return (n, c) + spatial


def _np_batch_norm(x, mean, var, gamma, beta, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(shape)


def _stats(channels, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, channels), rng.uniform(0.5, 2, channels)


@given(shape=bn_shapes(), seed=seeds, affine=st.booleans())
def test_training_forward_gradient_and_running_stats(device, shape, seed, affine):
    x = random_array(shape, seed=seed, low=-2, high=3)
    c = shape[1]
    gamma, beta = _stats(c, seed + 1)
    axes = (0,) + tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    m = x.size // c
    rm0, rv0 = _stats(c, seed + 2)
    rm, rv = make(rm0, device, requires_grad=False), make(rv0, device, requires_grad=False)
    w, b = (make(gamma, device), make(beta, device)) if affine else (None, None)

    out = F.batch_norm(make(x, device), rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
    ones, zeros = np.ones(c), np.zeros(c)
    expected = _np_batch_norm(x, mean, var, gamma if affine else ones, beta if affine else zeros, 1e-3)
    assert_close(out, expected, rtol=1e-10, atol=1e-12)
    # running stats: exponential moving averages, the variance unbiased
    assert_close(rm, 0.7 * rm0 + 0.3 * mean, rtol=1e-12)
    assert_close(rv, 0.7 * rv0 + 0.3 * var * m / (m - 1), rtol=1e-12)

    if affine:
        check_grad(lambda x_, g_, b_: F.batch_norm(x_, None, None, g_, b_, training=True), x, gamma, beta,
                   device=device)
    else:
        check_grad(lambda x_: F.batch_norm(x_, None, None, training=True), x, device=device)


@given(shape=bn_shapes(), seed=seeds)
def test_evaluation_uses_the_running_stats(device, shape, seed):
    x = random_array(shape, seed=seed, low=-2, high=3)
    c = shape[1]
    gamma, beta = _stats(c, seed + 1)
    rm0, rv0 = _stats(c, seed + 2)
    rm, rv = make(rm0, device, requires_grad=False), make(rv0, device, requires_grad=False)
    out = F.batch_norm(make(x, device), rm, rv, make(gamma, device), make(beta, device), training=False)
    assert_close(out, _np_batch_norm(x, rm0, rv0, gamma, beta, 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(rm.numpy(), rm0)  # untouched in evaluation
    np.testing.assert_array_equal(rv.numpy(), rv0)
    check_grad(lambda x_, g_, b_: F.batch_norm(x_, rm, rv, g_, b_), x, gamma, beta, device=device)


def test_compact_backward_formula_on_a_small_example(device):
    # one channel, x = [1, 2, 3, 6], dy = [1, 0, 0, 0]:
    # dx = (1/m) gamma / sigma (m dy - sum dy - xhat sum(dy xhat))
    x_np, dy = np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.0, 0.0, 0.0, 0.0])
    x = mc.tensor(x_np.reshape(4, 1), requires_grad=True, device=device)
    gamma = mc.tensor([2.0], dtype=mc.float64, requires_grad=True, device=device)
    y = F.batch_norm(x, None, None, gamma, None, training=True, eps=0.0)
    (y[:, 0] * mc.tensor(dy, device=device)).sum().backward()
    sigma = x_np.std()
    xhat = (x_np - x_np.mean()) / sigma
    expected = 2.0 / sigma / 4 * (4 * dy - dy.sum() - xhat * (dy * xhat).sum())
    np.testing.assert_allclose(x.grad.numpy()[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(gamma.grad.numpy(), [(dy * xhat).sum()], rtol=1e-12)


def test_matches_torch_including_running_stats(device):
    torch = pytest.importorskip("torch")
    x = random_array((4, 3, 5, 5), seed=3, low=-1, high=4).astype(np.float32)
    gamma, beta = _stats(3, 4)
    rm, rv = mc.zeros(3, device=device), mc.ones(3, device=device)
    trm, trv = torch.zeros(3), torch.ones(3)
    for _ in range(3):
        out = F.batch_norm(mc.tensor(x, device=device), rm, rv, mc.tensor(gamma, dtype=mc.float32, device=device),
                           mc.tensor(beta, dtype=mc.float32, device=device), training=True)
        expected = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(gamma).float(),
                                                  torch.tensor(beta).float(), training=True)
    assert out.dtype == mc.float32 and rm.dtype == mc.float32
    assert_close(out, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert_close(rm, trm.numpy(), rtol=1e-6)
    assert_close(rv, trv.numpy(), rtol=1e-6)


def test_channel_mismatch_raises_before_touching_the_running_stats(device):
    x = mc.tensor(random_array((4, 3)), device=device)
    rm, rv = mc.zeros(3, dtype=mc.float64, device=device), mc.ones(3, dtype=mc.float64, device=device)
    with pytest.raises(ValueError, match=r"input has 3 channels \(shape \(4, 3\)\) but weight has shape \(2,\)"):
        F.batch_norm(x, rm, rv, mc.ones(2, dtype=mc.float64, device=device), None, training=True)
    with pytest.raises(ValueError, match=r"input has 3 channels .* but running_mean has shape \(4,\)"):
        F.batch_norm(x, mc.zeros(4, device=device), rv, training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel when training, got input of shape \(1, 3\)"):
        F.batch_norm(mc.tensor(random_array((1, 3)), device=device), rm, rv, training=True)
    np.testing.assert_array_equal(rm.numpy(), np.zeros(3))
    np.testing.assert_array_equal(rv.numpy(), np.ones(3))


def test_evaluation_needs_running_stats_and_input_needs_channels():
    with pytest.raises(ValueError, match="training=False.*needs running_mean and running_var"):
        F.batch_norm(mc.tensor(random_array((4, 3))), None, None)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C\) or \(N, C, \*\), got \(4,\)"):
        F.batch_norm(mc.tensor(random_array((4,))), None, None, training=True)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("setting", ["auto", "numpy"])
@given(shape=bn_shapes(), seed=seeds, affine=st.booleans())
def test_without_a_graph_the_output_is_the_same(device, training, setting, shape, seed, affine):
    """Under no_grad (or with nothing requiring grad) batch_norm keeps nothing for backward:
    the same y, the same running stats."""
    from minicnn import kernels

    before = kernels.current()
    kernels.use(setting)
    try:
        x = random_array(shape, seed=seed, low=-2, high=3)
        c = shape[1]
        gamma, beta = _stats(c, seed + 1)
        rm0, rv0 = _stats(c, seed + 2)
        outs, stats = [], []
        for grad in (True, False):
            rm, rv = make(rm0, device, requires_grad=False), make(rv0, device, requires_grad=False)
            w, b = (make(gamma, device), make(beta, device)) if affine else (None, None)
            with (mc.enable_grad() if grad else mc.no_grad()):
                out = F.batch_norm(make(x, device), rm, rv, w, b, training=training)
            assert (out.grad_fn is not None) == grad
            outs.append(out.numpy())
            stats.append((rm.numpy(), rv.numpy()))
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-12)
        for a, b in zip(stats[0], stats[1]):
            np.testing.assert_array_equal(a, b)
        if not training:
            expected = _np_batch_norm(x, rm0, rv0, gamma if affine else np.ones(c), beta if affine else np.zeros(c), 1e-5)
            np.testing.assert_allclose(outs[1], expected, rtol=1e-12, atol=1e-12)
    finally:
        kernels.use(before)
