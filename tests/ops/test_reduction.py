"""sum mean var std max min amax amin argmax argmin: forward against NumPy,
float64 gradchecks over hypothesis-drawn shapes and axes, PyTorch's tie rules."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from tests.helpers import assert_close, check_grad, make, random_array


@st.composite
def shape_and_axis(draw, allow_none=True, allow_tuple=True):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    choices = [None] if allow_none else []
    ndim = len(shape)
    if ndim:
        choices += list(range(-ndim, ndim))
        if allow_tuple and ndim > 1:
            choices.append(tuple(range(ndim - 1)))
    if not choices:
        choices = [None]
    return shape, draw(st.sampled_from(choices)), draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=shape_and_axis())
def test_sum_and_mean(device, name, case):
    shape, axis, keepdims = case
    a = random_array(shape)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert_close(getattr(make(a, device), name)(axis=axis, keepdims=keepdims), expected)
    check_grad(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), a, device=device)


@given(case=shape_and_axis(), correction=st.sampled_from([0, 1]))
def test_var_and_std(device, case, correction):
    shape, axis, keepdims = case
    a = random_array(shape)
    axes = axis if axis is not None else tuple(range(a.ndim))
    n = int(np.prod([a.shape[i] for i in np.atleast_1d(axes)])) if a.ndim else 1
    if n - correction <= 0:
        return
    assert_close(make(a, device).var(axis=axis, keepdims=keepdims, correction=correction),
                 np.var(a, axis=axis, keepdims=keepdims, ddof=correction))
    check_grad(lambda x: x.var(axis=axis, keepdims=keepdims, correction=correction), a, device=device)
    check_grad(lambda x: x.std(axis=axis, keepdims=keepdims, correction=correction), a, device=device)


def test_var_is_unbiased_by_default():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert mc.tensor(a).var().item() == pytest.approx(np.var(a, ddof=1))
    assert mc.tensor(a).var(unbiased=False).item() == pytest.approx(np.var(a))


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(case=shape_and_axis())
def test_amax_amin(device, name, case):
    shape, axis, keepdims = case
    a = random_array(shape)  # distinct values: no ties
    assert_close(getattr(make(a, device), name)(axis=axis, keepdims=keepdims), getattr(np, name)(a, axis=axis, keepdims=keepdims))
    check_grad(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), a, device=device)


@pytest.mark.parametrize("name", ["max", "min"])
@given(case=shape_and_axis(allow_none=False, allow_tuple=False))
def test_max_min_along_axis_return_values_and_indices(device, name, case):
    shape, axis, keepdims = case
    if not shape:
        return
    a = random_array(shape)
    values, indices = getattr(make(a, device), name)(axis=axis, keepdims=keepdims)
    assert_close(values, getattr(np, name)(a, axis=axis, keepdims=keepdims))
    arg = np.argmax if name == "max" else np.argmin
    np.testing.assert_array_equal(indices.numpy(), arg(a, axis=axis, keepdims=keepdims))
    check_grad(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims)[0], a, device=device)


def test_max_result_has_pytorch_field_names():
    result = mc.tensor([[1.0, 3.0], [4.0, 2.0]]).max(dim=1)
    assert result.values.tolist() == [3.0, 4.0]
    assert result.indices.tolist() == [1, 0]
    assert mc.max(mc.tensor([1.0, 5.0])).item() == 5.0


def test_ties_full_max_splits_gradient_evenly(device):
    x = mc.tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True, device=device)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])


def test_ties_max_along_axis_gives_gradient_to_returned_index(device):
    x = mc.tensor([[1.0, 3.0, 3.0]], requires_grad=True, device=device)
    values, indices = x.max(axis=1)
    values.sum().backward()
    assert indices.item() == 1
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 1.0, 0.0]])


@given(case=shape_and_axis(allow_tuple=False))
def test_argmax_argmin(device, case):
    shape, axis, keepdims = case
    a = random_array(shape)
    x = make(a, device, requires_grad=False)
    np.testing.assert_array_equal(x.argmax(axis=axis, keepdims=keepdims).numpy(), np.argmax(a, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(x.argmin(axis=axis, keepdims=keepdims).numpy(), np.argmin(a, axis=axis, keepdims=keepdims))


def test_dim_and_keepdim_are_aliases():
    a = random_array((2, 3))
    x = mc.tensor(a)
    assert_close(x.sum(dim=1, keepdim=True), a.sum(axis=1, keepdims=True))
    assert_close(mc.mean(x, dim=0), a.mean(axis=0))
    with pytest.raises(TypeError, match="both axis=0 and dim=1"):
        x.sum(axis=0, dim=1)


def test_axis_out_of_range_is_a_clear_error():
    with pytest.raises(IndexError, match="axis 2 is out of range for a tensor with 2 dimension"):
        mc.ones(2, 3).sum(axis=2)


def test_max_of_empty_tensor_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        mc.ones(0).max()
