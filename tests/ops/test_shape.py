"""reshape permute transpose T flatten squeeze unsqueeze expand, indexing
(ints, slices, integer arrays, boolean masks), cat stack split."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from tests.helpers import assert_close, check_grad, make, random_array

shapes = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)


@given(shape=shapes)
def test_reshape_and_view(device, shape):
    a = random_array(shape)
    target = (-1,) if len(shape) == 1 else (shape[0], -1)
    assert_close(make(a, device).reshape(*target), a.reshape(target))
    check_grad(lambda x: x.reshape(target) * mc.arange(1, a.size + 1, device=device).reshape(target).double(), a, device=device)
    check_grad(lambda x: x.view(a.size), a, device=device)


@given(shape=shapes, data=st.data())
def test_permute_and_transpose(device, shape, data):
    a = random_array(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    assert_close(make(a, device).permute(*perm), a.transpose(perm))
    check_grad(lambda x: x.permute(perm) * 1.0, a, device=device)
    i, j = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(-len(shape), -1))
    assert_close(make(a, device).transpose(i, j), np.swapaxes(a, i, j))
    check_grad(lambda x: x.transpose(i, j), a, device=device)


def test_T_reverses_axes():
    a = random_array((2, 3))
    assert_close(mc.tensor(a).T, a.T)


@given(shape=shapes, data=st.data())
def test_flatten(device, shape, data):
    a = random_array(shape)
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    expected = a.reshape(shape[:start] + (-1,) + shape[end + 1 :])
    assert_close(make(a, device).flatten(start, end), expected)
    check_grad(lambda x: x.flatten(start_dim=start, end_dim=end), a, device=device)


def test_squeeze_unsqueeze():
    a = random_array((1, 3, 1, 2))
    x = mc.tensor(a)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze(0).shape == (3, 1, 2)
    assert x.squeeze(1).shape == (1, 3, 1, 2)  # size > 1: left alone, as PyTorch
    assert x.unsqueeze(0).shape == (1, 1, 3, 1, 2)
    assert x.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    check_grad(lambda t: t.squeeze().unsqueeze(1), a)


@pytest.mark.parametrize("source,target", [((3, 1), (3, 4)), ((1,), (2, 3, 1)), ((2, 1, 3), (2, 4, 3))])
def test_expand_sums_gradient_back(device, source, target):
    a = random_array(source)
    assert_close(make(a, device).expand(*target), np.broadcast_to(a, target))
    check_grad(lambda x: x.expand(target) * mc.arange(int(np.prod(target)), device=device).reshape(target).double(), a, device=device)


def test_expand_keeps_size_with_minus_one():
    assert mc.ones(3, 1).expand(-1, 4).shape == (3, 4)
    with pytest.raises(ValueError, match=r"cannot expand shape \(3, 2\) to \(3, 4\)"):
        mc.ones(3, 2).expand(3, 4)


INDEX_KEYS = [
    1,
    -1,
    slice(1, None),
    (slice(None), 0),
    (Ellipsis, 1),
    (None, 0),
    (slice(None, None, -1),),
    (0, slice(0, 3, 2)),
    np.array([0, 2, 0]),  # repeated index: gradients add up
    (np.array([1, 1]), np.array([0, 2])),
    np.array([True, False, True]),
]


@pytest.mark.parametrize("key", INDEX_KEYS, ids=repr)
def test_indexing_forward_and_scatter_add_backward(device, key):
    a = random_array((3, 4))
    assert_close(make(a, device)[key], a[key])
    check_grad(lambda x: x[key] * 2.0, a, device=device)


def test_repeated_index_accumulates(device):
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_boolean_mask_tensor_and_integer_tensor_keys(device):
    x = mc.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True, device=device)
    x[x > 0].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0], [0.0, 1.0]])
    rows = mc.tensor([1, 0])  # CPU indices work for a tensor on any device (as in PyTorch)
    assert x[rows, rows].tolist() == [4.0, 1.0]
    assert x[np.array([1, 0]), mc.tensor([1, 0], device=device)].tolist() == [4.0, 1.0]


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        mc.ones(3, 4)[5]


@given(n=st.integers(1, 4), axis=st.integers(-2, 1))
def test_cat_and_stack(device, n, axis):
    arrays = [random_array((2, i + 1), seed=i) for i in range(n)]
    cat_axis = axis % 2
    if cat_axis == 0:
        arrays = [random_array((i + 1, 3), seed=i) for i in range(n)]
    assert_close(mc.cat([make(a, device) for a in arrays], axis=axis), np.concatenate(arrays, axis=axis))
    check_grad(lambda *xs: mc.cat(xs, axis=axis), *arrays, device=device)
    same = [random_array((2, 3), seed=i) for i in range(n)]
    stack_axis = axis  # -2..1 are all valid for a new axis in 3 dims
    assert_close(mc.stack([make(a, device) for a in same], dim=stack_axis), np.stack(same, axis=stack_axis))
    check_grad(lambda *xs: mc.stack(xs, axis=stack_axis) * 1.5, *same, device=device)


def test_split_into_sizes_and_sections(device):
    a = random_array((5, 2))
    pieces = mc.split(make(a, device), 2)
    assert [p.shape for p in pieces] == [(2, 2), (2, 2), (1, 2)]
    assert_close(pieces[2], a[4:])
    pieces = make(a, device).split([1, 4], dim=0)
    assert_close(pieces[1], a[1:])
    check_grad(lambda x: mc.split(x, [2, 3])[1] * 3.0, a, device=device)  # unused piece gets zeros
    check_grad(lambda x: sum((p * (i + 1)).sum() for i, p in enumerate(mc.split(x, 1, axis=1))), a, device=device)


def test_cat_and_split_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"cat: shapes \(2, 3\), \(2, 4\) must match in every axis except axis 0"):
        mc.cat([mc.ones(2, 3), mc.ones(2, 4)])
    with pytest.raises(ValueError, match=r"stack: all tensors must have the same shape, got \(2,\), \(3,\)"):
        mc.stack([mc.ones(2), mc.ones(3)])
    with pytest.raises(ValueError, match=r"split: sizes \[1, 1\] add up to 2, but axis 0 has 5"):
        mc.split(mc.ones(5), [1, 1])
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4,\)"):
        mc.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match="not a permutation"):
        mc.ones(2, 3).permute(0, 0)


def test_index_bounds_check_used_for_gpu_keys():
    """CuPy wraps out-of-range index arrays around; minicnn checks GPU keys itself
    (the check is plain array code, run here on NumPy arrays)."""
    from minicnn.ops.shape import check_index_bounds

    check_index_bounds((np.array([0, 2]), slice(None), np.array([-4, 3])), (3, 5, 4))
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 0 with size 3 \(tensor of shape \(3, 5\)\)"):
        check_index_bounds(np.array([0, 3]), (3, 5))
    with pytest.raises(IndexError, match="index -6 is out of bounds for axis 1 with size 5"):
        check_index_bounds((1, np.array([-6])), (3, 5))
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 2 with size 4"):
        check_index_bounds((np.ones((3, 5), dtype=bool), np.array([7])), (3, 5, 4))
