"""A small CNN trained with the CUDA kernels (emulated on the CPU) follows the reference run.

The kernel tests check each CUDA kernel alone; this one checks them together,
as the ops call them: argument order, ``out=`` buffers, batch-norm's
statistics -> normalise -> backward chain, pooling indices, the fused
optimizer updates.  Every kernel that has a CUDA version is swapped in for
the CPU's (through the registry), a few training steps run, and losses and
parameters must match a run with the reference kernels.  On a GPU the
``device`` tests of the suite do the same with the real thing.
"""
import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import kernels, nn, optim
from minicnn.kernels import registry
from minicnn.kernels.cuda_emulator import compiler
from minicnn.kernels.cuda_support import CUDA_KERNELS, LazyCudaKernel

pytestmark = pytest.mark.skipif(compiler() is None, reason="no C++ compiler to emulate the CUDA kernels")


def _network():
    # no bias before batch norm: its gradient is zero up to rounding, which Adam's
    # normalised step would turn into noise of the size of the learning rate
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 2 * 2, 5),
    )


def _train(net, make_optimizer, steps=4):
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((6, 3, 16, 16)).astype(np.float32))
    y = mc.tensor(rng.integers(0, 5, 6))
    opt = make_optimizer(net.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def cuda_kernels_on_the_cpu(monkeypatch):
    """Make the registry run the CUDA kernels (emulated) for CPU arrays."""
    kernels.use("auto")
    for name, module in CUDA_KERNELS.items():
        monkeypatch.setitem(registry._kernels[name], "numba", LazyCudaKernel(name, module))
    yield
    kernels.use("auto")


@pytest.mark.parametrize("make_optimizer", [
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    lambda params: optim.AdamW(params, lr=0.01, amsgrad=True),
], ids=["sgd-nesterov", "adamw-amsgrad"])
def test_a_network_trained_with_the_cuda_kernels_matches_the_reference(make_optimizer, cuda_kernels_on_the_cpu):
    mc.manual_seed(0)
    emulated = _network()
    reference = _network()
    reference.load_state_dict(emulated.state_dict())

    emulated_losses = _train(emulated, make_optimizer)
    kernels.use("reference")
    reference_losses = _train(reference, make_optimizer)

    np.testing.assert_allclose(emulated_losses, reference_losses, rtol=1e-5)
    assert emulated_losses[-1] < emulated_losses[0]
    for (name, got), expected in zip(emulated.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_the_swap_really_runs_the_cuda_kernels(cuda_kernels_on_the_cpu):
    x = np.zeros((1, 1, 4, 4), np.float32)
    assert isinstance(kernels.get("im2col", x), LazyCudaKernel)
    mc.manual_seed(0)
    _train(_network(), lambda params: optim.SGD(params, lr=0.1, momentum=0.9), steps=1)
    assert all(registry._kernels[name]["numba"].compiled is not None for name in
               ("im2col", "col2im", "max_pool_forward", "max_pool_backward", "avg_pool_forward",
                "batch_norm_statistics", "batch_norm_affine", "batch_norm_backward", "sgd_update"))
