"""Losses: forward against NumPy written here (and PyTorch when importable),
float64 gradchecks over hypothesis-drawn configurations, stability, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array

seeds = st.integers(0, 2**16)
reductions = st.sampled_from(["mean", "sum", "none"])


def _np_log_softmax(a, axis=1):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _np_reduce(per_element, reduction, total=None):
    if reduction == "none":
        return per_element
    if reduction == "sum":
        return per_element.sum()
    return per_element.sum() / (per_element.size if total is None else total)


def _np_class_loss(log_p, target, weight, ignore_index, smoothing, reduction):
    """PyTorch's nll / cross-entropy with smoothing, one sample at a time (the
    class axis is moved last and the other axes flattened)."""
    n_classes = log_p.shape[1]
    rows = np.moveaxis(log_p, 1, -1).reshape(-1, n_classes)
    targets = target.reshape(-1)
    w = np.ones(n_classes) if weight is None else weight
    losses, total = np.zeros(len(targets)), 0.0
    for i, (row, t) in enumerate(zip(rows, targets)):
        if t == ignore_index:
            continue
        losses[i] = -(1 - smoothing) * w[t] * row[t] - smoothing / n_classes * (w * row).sum()
        total += w[t]
    return _np_reduce(losses.reshape(target.shape), reduction, total)


@st.composite
def class_problems(draw):
    """Logits (N, C, *d), int64 targets (N, *d) with some ignored, optional weights."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = np.random.default_rng(draw(seeds))
    logits = rng.uniform(-3, 3, size=(n, c) + spatial)
    target = rng.integers(0, c, size=(n,) + spatial)
    if target.size > 1 and draw(st.booleans()):
        target.reshape(-1)[0] = -100  # one ignored target (all ignored: see below)
    weight = rng.uniform(0.5, 2.0, size=c) if draw(st.booleans()) else None
    return logits, target, weight


def _maybe(weight, device):
    return None if weight is None else make(weight, device, requires_grad=False)


@given(problem=class_problems(), reduction=reductions, smoothing=st.sampled_from([0.0, 0.1]))
def test_cross_entropy_with_class_indices(device, problem, reduction, smoothing):
    logits, target, weight = problem
    t, w = mc.tensor(target, device=device), _maybe(weight, device)
    fn = lambda x: F.cross_entropy(x, t, w, reduction=reduction, label_smoothing=smoothing)  # noqa: E731
    expected = _np_class_loss(_np_log_softmax(logits), target, weight, -100, smoothing, reduction)
    assert_close(fn(make(logits, device)), expected, rtol=1e-10, atol=1e-12)
    check_grad(fn, logits, device=device)


@given(problem=class_problems(), reduction=reductions)
def test_nll_loss(device, problem, reduction):
    log_p, target, weight = problem
    t, w = mc.tensor(target, device=device), _maybe(weight, device)
    fn = lambda x: F.nll_loss(x, t, w, reduction=reduction)  # noqa: E731
    assert_close(fn(make(log_p, device)), _np_class_loss(log_p, target, weight, -100, 0.0, reduction), rtol=1e-12)
    check_grad(fn, log_p, device=device)


@given(problem=class_problems(), reduction=reductions, smoothing=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_with_probability_targets(device, problem, reduction, smoothing):
    logits, _, weight = problem
    n_classes = logits.shape[1]
    probs = np.exp(_np_log_softmax(random_array(logits.shape, seed=5)))
    w = np.ones(n_classes) if weight is None else weight
    w_b = w.reshape((1, n_classes) + (1,) * (logits.ndim - 2))
    smoothed = probs * (1 - smoothing) + smoothing / n_classes
    per_sample = -(w_b * smoothed * _np_log_softmax(logits)).sum(axis=1)
    wt = _maybe(weight, device)
    fn = lambda x, p: F.cross_entropy(x, p, wt, reduction=reduction, label_smoothing=smoothing)  # noqa: E731
    assert_close(fn(make(logits, device), make(probs, device)), _np_reduce(per_sample, reduction), rtol=1e-10)
    check_grad(fn, logits, probs, device=device)  # also d/d(target)


def test_cross_entropy_matches_torch(device):
    torch = pytest.importorskip("torch")
    logits, target = random_array((5, 4, 3), seed=1, low=-4, high=4), np.random.default_rng(2).integers(0, 4, (5, 3))
    target[0, 1] = 2
    weight = np.array([0.5, 1.0, 2.0, 1.5])
    for reduction in ("mean", "sum", "none"):
        for smoothing in (0.0, 0.3):
            got = F.cross_entropy(make(logits, device), mc.tensor(target, device=device), make(weight, device),
                                  ignore_index=2, reduction=reduction, label_smoothing=smoothing)
            expected = torch.nn.functional.cross_entropy(
                torch.tensor(logits), torch.tensor(target), torch.tensor(weight),
                ignore_index=2, reduction=reduction, label_smoothing=smoothing,
            )
            assert_close(got, expected.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mean_over_only_ignored_targets_is_nan_as_in_pytorch(device):
    x, ignored = mc.tensor(random_array((2, 3)), device=device), mc.tensor([-100, -100], device=device)
    assert math.isnan(F.cross_entropy(x, ignored).item())
    assert F.cross_entropy(x, ignored, reduction="sum").item() == 0


def test_cross_entropy_gradient_is_softmax_minus_onehot(device):
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 0.5, 3.0]])
    x = mc.tensor(logits, requires_grad=True, device=device)
    F.cross_entropy(x, mc.tensor([0, 2], device=device), reduction="sum").backward()
    softmax = np.exp(_np_log_softmax(logits))
    np.testing.assert_allclose(x.grad.numpy(), softmax - np.eye(3)[[0, 2]], rtol=1e-12)


def test_cross_entropy_of_one_unbatched_sample(device):
    logits = random_array((4,), seed=3)
    got = F.cross_entropy(mc.tensor(logits, device=device), mc.tensor(2, device=device))
    assert got.shape == () and np.isclose(got.item(), -_np_log_softmax(logits[None])[0, 2])


def test_cross_entropy_is_stable_for_huge_logits(device):
    x = mc.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=mc.float32, device=device, requires_grad=True)
    loss = F.cross_entropy(x, mc.tensor([1, 1], device=device))
    np.testing.assert_allclose(loss.item(), 1000.0)  # (2000 + 0) / 2
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5], [0.0, 0.0]])


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds, reduction=reductions)
def test_mse_and_l1(device, shape, seed, reduction):
    a, b = random_array(shape, seed=seed), random_array(shape, seed=seed + 1)
    b = np.where(np.abs(a - b) < 1e-3, b + 0.5, b)  # |a - b| has a kink at 0
    assert_close(F.mse_loss(make(a, device), make(b, device), reduction=reduction), _np_reduce((a - b) ** 2, reduction))
    assert_close(F.l1_loss(make(a, device), make(b, device), reduction=reduction), _np_reduce(np.abs(a - b), reduction))
    check_grad(lambda x, y: F.mse_loss(x, y, reduction=reduction), a, b, device=device)
    check_grad(lambda x, y: F.l1_loss(x, y, reduction=reduction), a, b, device=device)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds, reduction=reductions,
       weighted=st.booleans())
def test_binary_cross_entropy(device, shape, seed, reduction, weighted):
    p, t = random_array(shape, seed=seed, low=0.05, high=0.95), random_array(shape, seed=seed + 1, low=0, high=1)
    w = random_array(shape[-1:], seed=seed + 2, low=0.5, high=2) if weighted else np.ones(shape[-1:])
    expected = _np_reduce(-w * (t * np.log(p) + (1 - t) * np.log(1 - p)), reduction)
    wt = make(w, device, requires_grad=False) if weighted else None
    fn = lambda x, y: F.binary_cross_entropy(x, y, wt, reduction=reduction)  # noqa: E731
    assert_close(fn(make(p, device), make(t, device)), expected, rtol=1e-12)
    check_grad(fn, p, t, device=device)


def test_binary_cross_entropy_clamps_the_log_at_minus_100(device):
    p = mc.tensor([0.0, 1.0, 0.0, 1.0], dtype=mc.float64, device=device, requires_grad=True)
    loss = F.binary_cross_entropy(p, mc.tensor([1.0, 0.0, 0.0, 1.0], dtype=mc.float64, device=device), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.numpy()))


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds, reduction=reductions,
       weighted=st.booleans(), with_pos_weight=st.booleans())
def test_binary_cross_entropy_with_logits(device, shape, seed, reduction, weighted, with_pos_weight):
    x, t = random_array(shape, seed=seed, low=-5, high=5), random_array(shape, seed=seed + 1, low=0, high=1)
    w = random_array(shape, seed=seed + 2, low=0.5, high=2) if weighted else np.ones(shape)
    pw = random_array(shape[-1:], seed=seed + 3, low=0.5, high=3) if with_pos_weight else np.ones(shape[-1:])
    s = 1 / (1 + np.exp(-x))
    expected = _np_reduce(-w * (pw * t * np.log(s) + (1 - t) * np.log(1 - s)), reduction)
    wt = make(w, device, requires_grad=False) if weighted else None

    def fn(logits, target, pos_weight):
        return F.binary_cross_entropy_with_logits(
            logits, target, wt, reduction=reduction, pos_weight=pos_weight if with_pos_weight else None
        )

    assert_close(fn(make(x, device), make(t, device), make(pw, device)), expected, rtol=1e-10)
    check_grad(fn, x, t, pw, device=device)


def test_bce_with_logits_is_exact_at_plus_minus_100(device):
    x = mc.tensor([100.0, -100.0, 100.0, -100.0], dtype=mc.float64, device=device, requires_grad=True)
    t = mc.tensor([0.0, 1.0, 1.0, 0.0], dtype=mc.float64, device=device)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    tiny = math.log1p(math.exp(-100))
    np.testing.assert_allclose(loss.numpy(), [100.0 + tiny, 100.0 + tiny, tiny, tiny], rtol=1e-15)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -math.exp(-100), math.exp(-100)], rtol=1e-12)


def test_bce_matches_torch(device):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x, t = random_array((3, 4), seed=6, low=-30, high=30), random_array((3, 4), seed=7, low=0, high=1)
    pw, w = np.array([0.5, 1.0, 2.0, 4.0]), random_array((3, 4), seed=8, low=0, high=1)
    got = F.binary_cross_entropy_with_logits(make(x, device), make(t, device), make(w, device),
                                             pos_weight=make(pw, device))
    expected = TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), torch.tensor(w),
                                                   pos_weight=torch.tensor(pw))
    assert_close(got, expected.numpy(), rtol=1e-12)
    p = 1 / (1 + np.exp(-x / 10))
    got = F.binary_cross_entropy(make(p, device), make(t, device), make(w, device), reduction="sum")
    expected = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), torch.tensor(w), reduction="sum")
    assert_close(got, expected.numpy())


# ------------------------------------------------------------------- bad input
def test_target_out_of_range_names_the_value_and_the_class_count(device):
    x = mc.tensor(random_array((2, 3)), device=device)
    with pytest.raises(IndexError, match=r"target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, mc.tensor([0, 3], device=device))
    with pytest.raises(IndexError, match=r"target -1 is out of bounds for 3 classes"):
        F.nll_loss(x, mc.tensor([-1, 0], device=device))


def test_float_targets_where_class_indices_are_needed():
    x = mc.tensor(random_array((2, 3)))
    with pytest.raises(TypeError, match="class-index targets must be an integer tensor.*float32"):
        F.nll_loss(x, mc.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"float32 target must hold class probabilities of the input's shape \(2, 3\), "
                                        r"got shape \(2,\)"):
        F.cross_entropy(x, mc.tensor([0.0, 1.0]))


def test_shape_mismatches_name_both_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) needs a target of shape \(2,\), got \(3,\)"):
        F.cross_entropy(mc.tensor(random_array((2, 3))), mc.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"target shape \(3,\) differs from input shape \(2,\)"):
        F.binary_cross_entropy_with_logits(mc.tensor([0.0, 1.0]), mc.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\), got \(2,\)"):
        F.cross_entropy(mc.tensor(random_array((2, 3))), mc.tensor([0, 1]), mc.tensor([1.0, 2.0]))


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss, F.mse_loss, F.l1_loss,
                                  F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_unknown_reduction(loss):
    target = mc.tensor([0, 1]) if loss in (F.cross_entropy, F.nll_loss) else mc.tensor(random_array((2, 2), low=0))
    with pytest.raises(ValueError, match=r"reduction must be 'mean', 'sum' or 'none', got reduction='avg'"):
        loss(mc.tensor(random_array((2, 2), low=0)), target, reduction="avg")


def test_binary_cross_entropy_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(mc.tensor([0.5, 1.5]), mc.tensor([0.0, 1.0]))


def test_label_smoothing_out_of_range():
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(mc.tensor(random_array((2, 3))), mc.tensor([0, 1]), label_smoothing=1.5)
