"""exp log sqrt abs relu clip where maximum minimum: forward against NumPy and
float64 gradchecks over hypothesis-drawn shapes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc
from tests.helpers import assert_close, check_grad, make, random_array

shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
UNARY = {
    # name: (minicnn function, numpy reference, input range)
    "exp": (mc.exp, np.exp, (-2.0, 2.0)),
    "log": (mc.log, np.log, (0.2, 3.0)),
    "sqrt": (mc.sqrt, np.sqrt, (0.2, 3.0)),
    "abs": (mc.abs, np.abs, (-2.0, 2.0)),
    "relu": (mc.relu, lambda a: np.maximum(a, 0), (-2.0, 2.0)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes)
def test_unary(device, name, shape):
    fn, reference, (low, high) = UNARY[name]
    a = random_array(shape, low=low, high=high)
    if name in ("abs", "relu"):
        a = np.where(np.abs(a) < 1e-3, 0.5, a)  # finite differences need a margin from the kink
    assert_close(fn(make(a, device)), reference(a))
    check_grad(fn, a, device=device)


def test_abs_and_relu_gradient_at_zero_is_zero(device):
    x = mc.tensor([0.0], requires_grad=True, device=device)
    (mc.abs(x) + mc.relu(x)).sum().backward()
    assert x.grad.item() == 0.0


@given(shape=shapes)
def test_clip(device, shape):
    a = random_array(shape, low=-2, high=2)
    a = np.where(np.abs(np.abs(a) - 1) < 1e-3, 0.0, a)
    assert_close(make(a, device).clip(-1.0, 1.0), np.clip(a, -1.0, 1.0))
    check_grad(lambda x: x.clamp(min=-1.0, max=1.0), a, device=device)
    check_grad(lambda x: mc.clip(x, max=0.5), a, device=device)


def test_clip_gradient_passes_at_the_bounds_inclusive(device):
    x = mc.tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True, device=device)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0, 0.0])


@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_where(device, shapes):
    (sc, sa, sb), _ = shapes
    cond = random_array(sc, seed=7) > 0
    a, b = random_array(sa, seed=8), random_array(sb, seed=9)
    assert_close(mc.where(mc.tensor(cond, device=device), make(a, device), make(b, device)), np.where(cond, a, b))
    check_grad(lambda x, y: mc.where(mc.tensor(cond, device=device), x, y), a, b, device=device)


def test_where_with_a_number_and_bad_condition():
    x = mc.tensor([1.0, -2.0], requires_grad=True)
    mc.where(x > 0, x, 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0])
    with pytest.raises(TypeError, match="bool tensor, got dtype float32"):
        mc.where(x.detach(), x, 0.0)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_maximum_minimum(device, name, shapes):
    (sa, sb), _ = shapes
    a, b = random_array(sa, seed=10), random_array(sb, seed=11)
    fn = getattr(mc, name)
    assert_close(fn(make(a, device), make(b, device)), getattr(np, name)(a, b))
    check_grad(fn, a, b, device=device)


def test_maximum_ties_split_the_gradient(device):
    a = mc.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = mc.tensor([1.0, 3.0], requires_grad=True, device=device)
    mc.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 1.0])
