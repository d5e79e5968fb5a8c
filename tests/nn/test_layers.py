"""Layers: parameter names and shapes, default initialisation, forward against PyTorch/NumPy."""
import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from tests.helpers import assert_close


def torch_or_skip():
    return pytest.importorskip("torch")


def copy_from_torch(layer, tlayer):
    """Give the minicnn layer the torch layer's weights (float64 on both sides)."""
    tlayer.double()
    layer.double()
    layer.load_state_dict(tlayer.state_dict())


def run_both(layer, tlayer, x, device="cpu"):
    """Outputs of the minicnn and torch layers on the same float64 input."""
    import torch

    layer.to(device)
    out = layer(mc.tensor(x, device=device))
    tout = tlayer(torch.from_numpy(x))
    return out, tout.detach().numpy()


# ------------------------------------------------------------------ shapes and names
@pytest.mark.parametrize("make, shapes", [
    (lambda: nn.Linear(5, 3), {"weight": (3, 5), "bias": (3,)}),
    (lambda: nn.Linear(5, 3, bias=False), {"weight": (3, 5)}),
    (lambda: nn.Conv1d(4, 6, 3), {"weight": (6, 4, 3), "bias": (6,)}),
    (lambda: nn.Conv2d(4, 6, (3, 2), groups=2), {"weight": (6, 2, 3, 2), "bias": (6,)}),
    (lambda: nn.Conv3d(2, 4, 3, bias=False), {"weight": (4, 2, 3, 3, 3)}),
    (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), {"weight": (4, 3, 3, 3), "bias": (6,)}),
    (lambda: nn.BatchNorm1d(7), {"weight": (7,), "bias": (7,), "running_mean": (7,), "running_var": (7,),
                                 "num_batches_tracked": ()}),
    (lambda: nn.BatchNorm2d(3, affine=False), {"running_mean": (3,), "running_var": (3,),
                                               "num_batches_tracked": ()}),
    (lambda: nn.BatchNorm2d(3, track_running_stats=False), {"weight": (3,), "bias": (3,)}),
    (lambda: nn.CrossEntropyLoss(weight=mc.ones(4)), {"weight": (4,)}),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=mc.ones(2)), {"pos_weight": (2,)}),
    (lambda: nn.MaxPool2d(2), {}),
])
def test_state_dict_names_and_shapes(make, shapes):
    sd = make().state_dict()
    assert {k: v.shape for k, v in sd.items()} == shapes


def test_names_and_shapes_match_pytorch():
    torch = torch_or_skip()
    pairs = [
        (nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1), torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)),
        (nn.ConvTranspose2d(8, 4, 4, stride=2), torch.nn.ConvTranspose2d(8, 4, 4, stride=2)),
        (nn.Conv3d(2, 4, (1, 2, 3)), torch.nn.Conv3d(2, 4, (1, 2, 3))),
        (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5)),
        (nn.Linear(7, 2), torch.nn.Linear(7, 2)),
    ]
    for layer, tlayer in pairs:
        assert {k: v.shape for k, v in layer.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in tlayer.state_dict().items()}


def test_reprs_match_pytorch():
    torch = torch_or_skip()
    tnn = torch.nn
    pairs = [
        (nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, groups=1, bias=False),
         tnn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, bias=False)),
        (nn.Conv1d(3, 6, 3, padding="same", groups=3), tnn.Conv1d(3, 6, 3, padding="same", groups=3)),
        (nn.ConvTranspose2d(8, 4, 4, stride=2, output_padding=1), tnn.ConvTranspose2d(8, 4, 4, stride=2, output_padding=1)),
        (nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1)),
        (nn.AvgPool2d(2), tnn.AvgPool2d(2)),
        (nn.AdaptiveAvgPool2d((1, 1)), tnn.AdaptiveAvgPool2d((1, 1))),
        (nn.AdaptiveMaxPool2d(2), tnn.AdaptiveMaxPool2d(2)),
        (nn.Dropout2d(0.2), tnn.Dropout2d(0.2)),
        (nn.ReLU(inplace=True), tnn.ReLU(inplace=True)),
        (nn.LeakyReLU(0.2), tnn.LeakyReLU(0.2)),
        (nn.ELU(), tnn.ELU()),
        (nn.GELU("tanh"), tnn.GELU("tanh")),
        (nn.LogSoftmax(dim=1), tnn.LogSoftmax(dim=1)),
        (nn.Upsample(size=(4, 4), mode="bilinear"), tnn.Upsample(size=(4, 4), mode="bilinear")),
        (nn.Linear(3, 2, bias=False), tnn.Linear(3, 2, bias=False)),
        (nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()),
        (nn.Sigmoid(), tnn.Sigmoid()),
    ]
    for layer, tlayer in pairs:
        assert repr(layer) == repr(tlayer)


def test_batchnorm_repr():
    assert repr(nn.BatchNorm2d(6, momentum=None)) == \
        "BatchNorm2d(6, eps=1e-05, momentum=None, affine=True, track_running_stats=True)"


def test_constructor_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        nn.Conv2d(3, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 6, (3, 3, 3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


# ------------------------------------------------------------------ default initialisation
@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(200, 300), 200),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.Conv1d(8, 64, 5, groups=2), 4 * 5),
    (lambda: nn.ConvTranspose2d(16, 32, 3), 32 * 9),  # fan_in from weight axis 1, as PyTorch
])
def test_default_init_is_uniform_within_one_over_sqrt_fan_in(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)  # std of U(-b, b)


def test_default_init_is_reproducible_and_batchnorm_starts_at_identity():
    mc.manual_seed(3)
    a = nn.Conv2d(3, 4, 3).weight.numpy().copy()
    mc.manual_seed(3)
    b = nn.Conv2d(3, 4, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)
    bn = nn.BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(4))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(4))
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 0


def test_factory_kwargs():
    layer = nn.Linear(3, 2, dtype=mc.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    bn = nn.BatchNorm1d(3, dtype=mc.float64)
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_ten_3x3x3_filters_with_bias_have_280_parameters():
    conv = nn.Conv2d(3, 10, 3)
    assert sum(p.numel() for p in conv.parameters()) == 10 * 3 * 3 * 3 + 10 == 280


# ------------------------------------------------------------------ forward
def test_linear_forward_matches_numpy(device):
    layer = nn.Linear(4, 3).double().to(device)
    x = np.random.default_rng(1).standard_normal((5, 4))
    out = layer(mc.tensor(x, device=device))
    assert_close(out, x @ layer.weight.numpy().T + layer.bias.numpy())


@pytest.mark.parametrize("case", ["conv1d", "conv2d", "conv3d", "conv_transpose2d"])
def test_conv_layers_match_pytorch(case, device):
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    if case == "conv1d":
        layer, tlayer, x = nn.Conv1d(4, 6, 3, padding=1, groups=2), torch.nn.Conv1d(4, 6, 3, padding=1, groups=2), (2, 4, 9)
    elif case == "conv2d":
        layer, tlayer, x = nn.Conv2d(3, 5, 3, stride=2, padding=1), torch.nn.Conv2d(3, 5, 3, stride=2, padding=1), (2, 3, 8, 7)
    elif case == "conv3d":
        layer, tlayer, x = nn.Conv3d(2, 3, 2, bias=False), torch.nn.Conv3d(2, 3, 2, bias=False), (1, 2, 4, 4, 4)
    else:
        layer = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
        tlayer = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
        x = (2, 4, 5, 5)
    copy_from_torch(layer, tlayer)
    out, expected = run_both(layer, tlayer, rng.standard_normal(x), device)
    assert_close(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda n: n.MaxPool2d(3, stride=2, padding=1),
    lambda n: n.MaxPool2d(2, ceil_mode=True),
    lambda n: n.AvgPool2d(2),
    lambda n: n.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    lambda n: n.AdaptiveAvgPool2d((2, 3)),
    lambda n: n.AdaptiveMaxPool2d(2),
    lambda n: n.ReLU(), lambda n: n.LeakyReLU(0.2), lambda n: n.ELU(0.5), lambda n: n.Sigmoid(),
    lambda n: n.Tanh(), lambda n: n.GELU(), lambda n: n.GELU("tanh"), lambda n: n.Softmax(dim=1),
    lambda n: n.LogSoftmax(dim=-1), lambda n: n.Flatten(), lambda n: n.Flatten(0, 2), lambda n: n.Identity(),
    lambda n: n.Upsample(scale_factor=2), lambda n: n.Upsample(size=(9, 4), mode="bilinear", align_corners=False),
    lambda n: n.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
])
def test_parameter_free_layers_match_pytorch(make, device):
    torch = torch_or_skip()
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    out, expected = run_both(make(nn), make(torch.nn), x, device)
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=1e-10, atol=1e-12)


def test_maxpool_return_indices_gives_two_outputs():
    out, idx = nn.MaxPool2d(2, return_indices=True)(mc.randn(1, 1, 4, 4))
    assert out.shape == idx.shape == (1, 1, 2, 2)


def test_maxout_takes_the_max_over_groups_of_channels():
    x = np.random.default_rng(4).standard_normal((2, 6, 3, 3))
    out = nn.Maxout(3)(mc.tensor(x))
    assert out.shape == (2, 2, 3, 3)
    assert_close(out, x.reshape(2, 2, 3, 3, 3).max(axis=2))


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("make, shape", [
    (lambda n, m: n.BatchNorm2d(3, momentum=m), (4, 3, 5, 5)),
    (lambda n, m: n.BatchNorm1d(3, momentum=m), (8, 3)),
    (lambda n, m: n.BatchNorm1d(3, momentum=m), (4, 3, 6)),
])
def test_batchnorm_matches_pytorch_in_training_and_evaluation(make, shape, momentum, device):
    torch = torch_or_skip()
    layer, tlayer = make(nn, momentum), make(torch.nn, momentum)
    copy_from_torch(layer, tlayer)
    layer.to(device)
    rng = np.random.default_rng(5)
    for step in range(3):  # running statistics follow PyTorch's, incl. momentum=None (cumulative average)
        x = rng.standard_normal(shape) * 2 + step
        out, expected = run_both(layer, tlayer, x, device)
        assert_close(out, expected, rtol=1e-8, atol=1e-10)
    assert layer.num_batches_tracked.item() == 3
    for key, value in tlayer.state_dict().items():
        assert_close(layer.state_dict()[key], value.numpy(), rtol=1e-8, atol=1e-10)
    layer.eval(), tlayer.eval()
    out, expected = run_both(layer, tlayer, rng.standard_normal(shape), device)
    assert_close(out, expected, rtol=1e-8, atol=1e-10)
    assert layer.num_batches_tracked.item() == 3  # evaluation leaves the statistics alone


def test_batchnorm_eval_uses_running_statistics(device):
    bn = nn.BatchNorm1d(2).double().eval().to(device)
    bn.load_state_dict({"weight": np.array([2.0, 1.0]), "bias": np.array([0.0, 1.0]),
                        "running_mean": np.array([1.0, -1.0]), "running_var": np.array([4.0, 1.0]),
                        "num_batches_tracked": np.array(5)})
    x = np.array([[3.0, 0.0], [1.0, 1.0]])
    expected = (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 1.0]) + 1e-5) * [2.0, 1.0] + [0.0, 1.0]
    assert_close(bn(mc.tensor(x, device=device)), expected)


def test_batchnorm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm2d(2, track_running_stats=False).eval()
    x = mc.randn(4, 2, 3, 3) * 5 + 3
    y = bn(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]


def test_batchnorm_checks_the_input():
    with pytest.raises(ValueError, match="expected input with 6 channels.*got 3 channels"):
        nn.BatchNorm2d(6)(mc.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="4-D input"):
        nn.BatchNorm2d(3)(mc.randn(2, 3, 4))
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        bn(mc.randn(2, 3, 4, 4))
    assert bn.num_batches_tracked.item() == 0  # a rejected input changes nothing


def test_dropout_is_identity_in_eval_and_scales_survivors_in_training(device):
    x = mc.ones(200, 50, device=device)
    drop = nn.Dropout(0.3)
    y = drop(x).numpy()
    assert np.all((y == 0) | np.isclose(y, 1 / 0.7))
    assert (y == 0).mean() == pytest.approx(0.3, abs=0.02)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    y2 = nn.Dropout2d(0.5)(mc.ones(20, 30, 4, 4, device=device)).numpy()
    per_channel = y2.reshape(20, 30, 16)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel != 0).all(axis=2))  # whole channels


@pytest.mark.parametrize("name", ["ce", "ce_weighted", "nll", "mse", "l1", "bce", "bce_logits"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_pytorch(name, reduction, device):
    torch = torch_or_skip()
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, size=6)
    probs = 1 / (1 + np.exp(-logits))
    targets01 = rng.random((6, 4))
    w = rng.random(4) + 0.5
    cases = {
        "ce": (lambda n, t: n.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1), logits, labels),
        "ce_weighted": (lambda n, t: n.CrossEntropyLoss(weight=t(w), ignore_index=2, reduction=reduction),
                        logits, labels),
        "nll": (lambda n, t: n.NLLLoss(weight=t(w), reduction=reduction), logits, labels),
        "mse": (lambda n, t: n.MSELoss(reduction=reduction), logits, targets01),
        "l1": (lambda n, t: n.L1Loss(reduction=reduction), logits, targets01),
        "bce": (lambda n, t: n.BCELoss(weight=t(w), reduction=reduction), probs, targets01),
        "bce_logits": (lambda n, t: n.BCEWithLogitsLoss(pos_weight=t(w), reduction=reduction), logits, targets01),
    }
    make, x, target = cases[name]
    loss = make(nn, lambda a: mc.tensor(a, device=device))
    tloss = make(torch.nn, torch.from_numpy)
    out = loss(mc.tensor(x, device=device), mc.tensor(target, device=device))
    expected = tloss(torch.from_numpy(x), torch.from_numpy(target)).numpy()
    assert_close(out, expected, rtol=1e-10, atol=1e-12)


def test_a_small_network_trains_one_step(device):
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).to(device)
    x, y = mc.randn(8, 1, 8, 8, device=device), mc.randint(0, 3, size=(8,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(net(x), y)
    loss.backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    with mc.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    assert loss_fn(net(x), y).item() < loss.item()


def test_batchnorm_rejected_batch_changes_no_state(device):
    bn = mc.nn.BatchNorm2d(3).to(device)
    bn.train()
    x = mc.randn(1, 3, 1, 1, device=device)  # one value per channel: batch statistics are undefined
    with pytest.raises(ValueError):
        bn(x)
    assert int(bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
