"""Tensor creation, dtype rules, the everyday PyTorch methods, in-place updates."""
import numpy as np
import pytest

import minicnn as mc


def test_dtype_rules_follow_pytorch():
    assert mc.tensor([1.0, 2.0]).dtype == mc.float32
    assert mc.tensor([1, 2]).dtype == mc.int64
    assert mc.tensor([True, False]).dtype == mc.bool_
    assert mc.tensor(np.zeros(2, dtype=np.float64)).dtype == mc.float64  # arrays keep theirs
    assert mc.tensor([1, 2], dtype=mc.float64).dtype == mc.float64
    assert mc.zeros(2, 3).dtype == mc.float32
    assert mc.arange(5).dtype == mc.int64
    assert mc.arange(0.0, 1.0, 0.25).dtype == mc.float32
    assert mc.full((2,), 7).dtype == mc.int64


def test_set_default_dtype():
    try:
        mc.set_default_dtype(mc.float64)
        assert mc.tensor([1.0]).dtype == mc.float64
        assert mc.randn(2).dtype == mc.float64
    finally:
        mc.set_default_dtype(mc.float32)
    with pytest.raises(TypeError, match="only floating dtypes"):
        mc.set_default_dtype(mc.int64)


def test_tensor_copies_but_from_numpy_shares():
    a = np.ones(3, dtype=np.float32)
    t, shared = mc.tensor(a), mc.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 1.0 and shared[0].item() == 5.0


def test_factories_shapes(device):
    assert mc.zeros(2, 3, device=device).shape == (2, 3)
    assert mc.ones((4,), device=device).tolist() == [1.0] * 4
    assert mc.empty([2, 2], device=device).shape == (2, 2)
    assert mc.eye(3, device=device).numpy().trace() == 3
    assert mc.linspace(0, 1, 5, device=device).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    x = mc.randn(3, 2, device=device, dtype=mc.float64)
    for like in (mc.zeros_like, mc.ones_like, mc.randn_like, mc.rand_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == mc.float64 and y.device == device
    assert mc.full_like(x, 2.5).numpy().mean() == 2.5
    assert sorted(mc.randperm(5, device=device).tolist()) == [0, 1, 2, 3, 4]
    r = mc.randint(3, 7, size=(100,), device=device).numpy()
    assert r.min() >= 3 and r.max() < 7


def test_manual_seed_makes_random_factories_reproducible():
    mc.manual_seed(123)
    a = mc.randn(5).numpy(), mc.rand(5).numpy()
    mc.manual_seed(123)
    b = mc.randn(5).numpy(), mc.rand(5).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], mc.randn(5).numpy())


def test_rng_state_round_trip():
    mc.manual_seed(7)
    mc.randn(3)
    state = mc.get_rng_state()
    expected = mc.randn(4).numpy()
    mc.randn(10)
    mc.set_rng_state(state)
    np.testing.assert_array_equal(mc.randn(4).numpy(), expected)


def test_everyday_methods():
    t = mc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(dim=1) == 3
    assert len(t) == 2 and t.dim() == 2 and t.ndim == 2 and t.numel() == 6
    assert t.view(3, 2).shape == (3, 2) and t.view(-1).shape == (6,)
    assert t.argmax().item() == 5 and t.argmax(axis=1).tolist() == [2, 2]
    assert t.argmin(dim=0).tolist() == [0, 0, 0]
    assert t.eq(2.0).tolist() == [[False, True, False], [False, False, False]]
    assert t.long().dtype == mc.int64 and t.double().dtype == mc.float64
    assert t.long().float().dtype == mc.float32
    assert t.to(mc.float64).dtype == mc.float64
    assert t.clone() is not t and t.clone().tolist() == t.tolist()
    assert [row.tolist() for row in t] == t.tolist()
    assert (t > 3).dtype == mc.bool_ and (t >= 3).numpy().sum() == 4
    assert (t != 1.0).numpy().sum() == 5 and (t < 2).numpy().sum() == 1 and (t <= 2).numpy().sum() == 2
    assert (t > 3).any().item() and not (t > 6).any().item()


def test_scalar_conversions():
    assert float(mc.tensor([2.5])) == 2.5
    assert int(mc.tensor(3)) == 3
    assert [10, 20, 30][mc.tensor(1)] == 20  # __index__
    assert bool(mc.tensor([1.0]))
    with pytest.raises(TypeError, match="integer tensors"):
        [1, 2][mc.tensor(1.0)]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mc.ones(2))
    with pytest.raises(ValueError, match=r"one-element.*shape \(2,\)"):
        mc.ones(2).item()


def test_numpy_interop():
    t = mc.tensor([1.0, 2.0])
    assert np.asarray(t).tolist() == [1.0, 2.0]
    assert t.numpy().dtype == np.float32


def test_in_place_parameter_update_under_no_grad():
    p = mc.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    data_before = p.data
    with mc.no_grad():
        p -= 0.1 * p.grad
    assert p.data is data_before  # really in place
    np.testing.assert_allclose(p.numpy(), [0.8, 1.6])
    p.data -= 0.05 * p.grad.data  # the .data idiom works too
    np.testing.assert_allclose(p.numpy(), [0.7, 1.4])


def test_in_place_on_leaf_requiring_grad_raises_outside_no_grad():
    p = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place change of a leaf tensor that requires grad"):
        p += 1.0
    with pytest.raises(RuntimeError, match="zero_"):
        p.zero_()
    assert p.tolist() == [1.0, 2.0]


def test_in_place_inside_graph_falls_back_to_out_of_place():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y += 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_zero_fill_copy_setitem():
    t = mc.ones(2, 3)
    t[0, 1] = 5.0
    t[1] = mc.tensor([7.0, 8.0, 9.0])
    assert t.tolist() == [[1.0, 5.0, 1.0], [7.0, 8.0, 9.0]]
    t.fill_(2.0)
    assert t.numpy().sum() == 12
    t.zero_()
    assert t.numpy().sum() == 0
    t.copy_(np.arange(6.0).reshape(2, 3))
    assert t.numpy().sum() == 15


def test_repr_reads_like_pytorch():
    assert repr(mc.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(mc.tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(mc.tensor([1.0], requires_grad=True) * 2.0)
    assert "dtype=float64" in repr(mc.tensor([1.0], dtype=mc.float64))


def test_unknown_object_is_a_clear_error():
    with pytest.raises(TypeError, match="object"):
        mc.tensor([object()])
