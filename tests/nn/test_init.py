"""nn.init: gains, fans, bounds and spreads of the distributions, reproducibility."""
import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans_of_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(mc.empty(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(mc.empty(64, 16, 3, 3)) == (16 * 9, 64 * 9)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(mc.empty(5))


def test_kaiming_uniform_bounds_and_spread():
    w = mc.empty(256, 128, 3, 3)
    fan_in = 128 * 9
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    values = w.numpy()
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    assert values.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert abs(values.mean()) < 0.01 * bound
    init.kaiming_uniform_(w, a=math.sqrt(5))  # PyTorch's Linear/Conv default: bound 1/sqrt(fan_in)
    assert np.abs(w.numpy()).max() == pytest.approx(1 / math.sqrt(fan_in), rel=1e-3)


def test_kaiming_normal_fan_out():
    w = mc.empty(64, 512, 3, 3)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.02)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(w, mode="fan_avg")


def test_xavier_uniform_and_normal():
    w = mc.empty(400, 600)
    init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 1000), rel=0.02)
    init.xavier_normal_(w, gain=init.calculate_gain("tanh"))
    assert w.numpy().std() == pytest.approx(5 / 3 * math.sqrt(2 / 1000), rel=0.02)
    init.xavier_uniform_(w)
    bound = math.sqrt(6 / 1000)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound


def test_uniform_normal_and_constants():
    t = mc.empty(100000, dtype=mc.float64)
    init.uniform_(t, -2, 3)
    assert t.numpy().min() >= -2 and t.numpy().max() < 3 and t.numpy().mean() == pytest.approx(0.5, abs=0.02)
    init.normal_(t, 1.0, 0.5)
    assert t.numpy().mean() == pytest.approx(1.0, abs=0.01) and t.numpy().std() == pytest.approx(0.5, rel=0.02)
    assert t.dtype == np.float64
    assert init.constant_(t, 0.25) is t and np.all(t.numpy() == 0.25)
    init.zeros_(t)
    assert not t.numpy().any()
    init.ones_(t)
    assert np.all(t.numpy() == 1)


def test_init_is_in_place_on_parameters_without_a_graph():
    p = nn.Parameter(mc.zeros(3, 4))
    data = p.data
    assert init.xavier_uniform_(p) is p
    assert p.data is data and p.grad_fn is None and p.requires_grad and data.any()


def test_init_is_reproducible_under_manual_seed(device):
    def draw():
        w = mc.empty(8, 4, 3, 3, device=device)
        init.kaiming_normal_(w)
        return w.numpy()

    mc.manual_seed(123)
    first = draw()
    mc.manual_seed(123)
    second = draw()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(draw(), second)


def test_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(mc.empty(0, 3))
