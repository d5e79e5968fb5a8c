"""linear: forward against NumPy (and PyTorch), gradchecks over batch shapes, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array


@given(batch=st.lists(st.integers(1, 3), max_size=2), n_in=st.integers(1, 4), n_out=st.integers(1, 4),
       with_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_linear(device, batch, n_in, n_out, with_bias, seed):
    x = random_array((*batch, n_in), seed=seed)
    w = random_array((n_out, n_in), seed=seed + 1)
    b = random_array((n_out,), seed=seed + 2)
    expected = np.einsum("...i,oi->...o", x, w) + (b if with_bias else 0)
    assert_close(F.linear(make(x, device), make(w, device), make(b, device) if with_bias else None), expected)
    if with_bias:
        check_grad(F.linear, x, w, b, device=device)
    else:
        check_grad(F.linear, x, w, device=device)


def test_linear_matches_torch(device):
    torch = pytest.importorskip("torch")
    x, w, b = random_array((2, 3, 5), seed=1), random_array((4, 5), seed=2), random_array((4,), seed=3)
    expected = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert_close(F.linear(make(x, device), make(w, device), make(b, device)), expected.numpy(), rtol=1e-12)


def test_linear_gradients_on_a_small_example(device):
    x = mc.tensor([[1.0, 2.0]], dtype=mc.float64, requires_grad=True, device=device)
    w = mc.tensor([[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], dtype=mc.float64, requires_grad=True, device=device)
    b = mc.tensor([0.5, 0.5, 0.5], dtype=mc.float64, requires_grad=True, device=device)
    F.linear(x, w, b).sum().backward()  # dL/dy = 1 everywhere
    np.testing.assert_array_equal(x.grad.numpy(), [[15.0, 18.0]])  # column sums of W
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 2.0]] * 3)  # each row gets x
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_linear_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"input has 3 features \(shape \(2, 3\)\) but weight expects 5 "
                                         r"\(weight shape \(4, 5\)\)"):
        F.linear(mc.ones(2, 3), mc.ones(4, 5))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\) to match weight \(4, 5\), got \(3,\)"):
        F.linear(mc.ones(2, 5), mc.ones(4, 5), mc.ones(3))
    with pytest.raises(ValueError, match=r"weight must be 2-d"):
        F.linear(mc.ones(2, 5), mc.ones(5))
