"""nn.utils.clip_grad_norm_ / clip_grad_value_: PyTorch's semantics, by hand and against torch."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.nn.utils import clip_grad_norm_, clip_grad_value_


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = mc.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = mc.tensor(np.array(g, dtype=np.float32))
        params.append(p)
    return params


def test_clip_norm_scales_to_max_norm():
    # gradients (3, 4) and (0,): total 2-norm 5 -> scaled by 1 / (5 + 1e-6)
    params = _params_with_grads([np.array([3.0, 0.0]), np.array([4.0])])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3 * coef, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.numpy(), [4 * coef], rtol=1e-6)


def test_clip_norm_leaves_small_gradients():
    params = _params_with_grads([np.array([0.3, 0.4])])
    assert clip_grad_norm_(params, max_norm=1.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.3, 0.4], rtol=1e-6)


def test_clip_norm_inf_and_l1():
    params = _params_with_grads([np.array([-3.0, 1.0]), np.array([2.0])])
    assert clip_grad_norm_(params, 1.5, norm_type=float("inf")).item() == pytest.approx(3.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [-1.5, 0.5], rtol=1e-5)
    params = _params_with_grads([np.array([-3.0, 1.0]), np.array([2.0])])
    assert clip_grad_norm_(params, 3.0, norm_type=1).item() == pytest.approx(6.0)
    np.testing.assert_allclose(params[1].grad.numpy(), [1.0], rtol=1e-5)


def test_clip_norm_skips_params_without_grad_and_checks_finiteness():
    p = mc.tensor(np.zeros(2, np.float32), requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    params = _params_with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_value():
    params = _params_with_grads([np.array([-3.0, 0.2, 5.0])])
    clip_grad_value_(params, 1.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [-1.0, 0.2, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        clip_grad_value_(params, -1)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(4, 3), (3,), (2, 2, 2)]]
    for norm_type in (2.0, 1.0, float("inf")):
        mine = _params_with_grads(grads)
        theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g)
        total = clip_grad_norm_(mine, 2.0, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 2.0, norm_type=norm_type)
        assert total.item() == pytest.approx(expected.item(), rel=1e-5)
        for m, t in zip(mine, theirs):
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)
