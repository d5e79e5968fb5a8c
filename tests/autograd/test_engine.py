"""The backward engine: order, accumulation, retain_graph, no_grad, release, bad input."""
import gc
import weakref

import numpy as np
import pytest

import minicnn as mc
from minicnn import backend
from minicnn.autograd.engine import topological_order


def test_chain_of_10000_ops_backward_without_recursion(device):
    x = mc.tensor([1.0, 2.0], requires_grad=True, device=device, dtype=mc.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0  # 20,000 nodes
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_diamond_graph_sums_both_paths(device):
    # y = a*x, z = b*x, out = y*z  ->  d out/dx = 2abx
    x = mc.tensor(3.0, requires_grad=True, device=device, dtype=mc.float64)
    y, z = x * 2.0, x * 5.0
    (y * z).backward()
    assert x.grad.item() == pytest.approx(2 * 2 * 5 * 3.0)


def test_tensor_used_twice_in_one_op(device):
    x = mc.tensor([1.0, -2.0, 3.0], requires_grad=True, device=device)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_leaf_gradients_accumulate_across_backward_calls(device):
    x = mc.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * 3.0).sum().backward()
    first = x.grad
    (x * 4.0).sum().backward()
    assert x.grad is first  # same Tensor object, accumulated in place of its data
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])


def test_leaf_grads_never_share_arrays():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # Add's backward hands one array to both
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_topological_order_puts_consumers_first():
    x = mc.tensor([1.0], requires_grad=True)
    a = x * 2.0
    b = a + 1.0
    c = b * a
    order = topological_order(c.grad_fn)
    names = [n.name for n in order]
    assert names == ["Mul", "Add", "Mul"]
    assert order.index(a.grad_fn) > order.index(b.grad_fn)


def test_second_backward_through_freed_graph_raises_and_changes_nothing():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_retain_graph_allows_a_second_backward():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_saved_arrays_are_released_after_backward():
    x = mc.tensor(np.ones(4), requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    mul = y.grad_fn.next_edges[0][0]
    assert mul.__dict__  # holds a and b
    y.backward()
    assert mul.released and not mul.__dict__


def test_no_grad_records_no_graph_and_frees_intermediates():
    x = mc.tensor(np.ones(1000), requires_grad=True)
    with mc.no_grad():
        h = x * 2.0
        ref = weakref.ref(h)
        y = h + 1.0
    assert y.grad_fn is None and not y.requires_grad
    del h
    gc.collect()
    assert ref() is None  # nothing kept the intermediate alive


def test_graph_keeps_only_what_backward_needs():
    x = mc.tensor(np.ones(1000), requires_grad=True)
    h = x + 1.0  # Add saves no arrays
    ref = weakref.ref(h)
    y = h.exp()
    del h
    gc.collect()
    assert ref() is None  # the output tensor object is not kept by the graph
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(2.0) * np.ones(1000), rtol=1e-6)


def test_no_grad_as_decorator_and_enable_grad():
    @mc.no_grad()
    def f(t):
        return t * 2.0

    x = mc.tensor([1.0], requires_grad=True)
    assert f(x).grad_fn is None
    with mc.no_grad():
        with mc.enable_grad():
            assert (x * 2.0).requires_grad
        assert not mc.is_grad_enabled()
    assert mc.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_memory():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad
    assert d.data is y.data


def test_requires_grad_on_intermediate_is_inherited():
    x = mc.tensor([1.0], requires_grad=True)
    c = mc.tensor([2.0])
    assert (x * c).requires_grad
    assert not (c * c).requires_grad
    assert (x * c).is_leaf is False and x.is_leaf


def test_backward_with_explicit_grad(device):
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = x * 2.0
    y.backward(mc.tensor([1.0, 0.5, 0.0], device=device))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, 0.0])


def test_integer_outputs_carry_no_graph():
    x = mc.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    values, indices = x.max(axis=1)
    assert values.requires_grad and not indices.requires_grad
    assert indices.dtype == mc.int64


# ----------------------------------------------------------------- bad input
def test_backward_on_non_scalar_without_grad_names_the_shape():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2.0).backward()
    assert x.grad is None


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mc.tensor([1.0]).sum().backward()


def test_backward_grad_of_wrong_shape():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"):
        (x * 2.0).backward(mc.ones(3))
    assert x.grad is None


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors.*int64"):
        mc.tensor([1, 2, 3], requires_grad=True)
    t = mc.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        t.requires_grad_()
    assert not t.requires_grad


def test_requires_grad_cannot_be_switched_off_on_non_leaf():
    x = mc.tensor([1.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


class _FakeGpuArray(np.ndarray):
    """A NumPy array that the patched backend says lives on cuda:0."""


def test_mixing_devices_names_both(monkeypatch):
    real = backend.device_of
    monkeypatch.setattr(
        backend, "device_of", lambda a: backend.Device("cuda:0") if isinstance(a, _FakeGpuArray) else real(a)
    )
    a = mc.tensor([1.0, 2.0])
    b = mc.Tensor._wrap(np.ones(2).view(_FakeGpuArray), None, 0)
    with pytest.raises(mc.DeviceError, match=r"\(2,\) on cpu, \(2,\) on cuda:0"):
        a + b


def test_device_mixing_on_a_real_gpu():
    if not mc.cuda.is_available():
        pytest.skip("no GPU: " + str(mc.cuda.unavailable_reason()))
    a = mc.ones(2)
    b = mc.ones(2, device="cuda")
    with pytest.raises(mc.DeviceError, match="cpu.*cuda:0"):
        a * b


def test_device_move_is_differentiable(device):
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = (x.to(device) * 3.0).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_worked_example_of_docs_autograd():
    # docs/autograd.md: x used twice, L = (x*w + x)^2
    x = mc.tensor(2.0, requires_grad=True)
    w = mc.tensor(3.0, requires_grad=True)
    h = x * w
    y = h + x
    L = y * y
    L.backward()
    assert (L.item(), x.grad.item(), w.grad.item()) == (64.0, 64.0, 32.0)
