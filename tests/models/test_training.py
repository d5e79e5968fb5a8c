"""For every family, a few optimizer steps on a fixed tiny batch lower the loss.

Small num_classes and small inputs wherever the architecture allows them
(ResNet-18 and GoogLeNet at 32x32 thanks to global pooling, VGG-11 at 32x32
thanks to its adaptive pooling), so that each run takes seconds.  AlexNet and
VGG carry 60-130 M parameters whatever the input: those runs are slow-marked.
"""
import numpy as np
import pytest

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import models, optim


def batch(shape, num_classes, seed=0, device="cpu"):
    rng = np.random.default_rng(seed)
    x = mc.tensor(rng.standard_normal(shape).astype(np.float32), device=device)
    y = mc.tensor(rng.integers(0, num_classes, shape[0]), device=device)
    return x, y


def train(model, x, target, loss_fn, steps, lr):
    """``steps`` Adam steps on one batch; the losses seen before each step."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def assert_learns(losses, factor):
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < factor * losses[0], losses


@pytest.mark.parametrize("name, kwargs, shape, steps, lr, factor", [
    ("lenet5", {"num_classes": 4}, (8, 1, 32, 32), 6, 3e-3, 0.8),
    ("lenet5", {"num_classes": 4, "padding": 2, "activation": "relu", "pooling": "max"}, (8, 1, 28, 28), 6, 3e-3, 0.8),
    ("resnet20", {"num_classes": 4}, (4, 3, 8, 8), 4, 1e-2, 0.7),
    ("resnet18", {"num_classes": 3}, (2, 3, 32, 32), 3, 1e-3, 0.7),
    ("googlenet", {"num_classes": 3}, (2, 3, 32, 32), 3, 1e-3, 0.7),
    ("sequence_cnn", {"num_classes": 3, "dropout": 0.0}, (8, 4, 30), 6, 1e-2, 0.8),
])
def test_classifier_learns(name, kwargs, shape, steps, lr, factor, device):
    model = models.get_model(name, **kwargs).to(device)
    x, y = batch(shape, kwargs["num_classes"], device=device)
    assert_learns(train(model, x, y, models.googlenet_loss, steps, lr), factor)  # plain CE except GoogLeNet


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, shape", [
    ("alexnet", {"num_classes": 3, "dropout": 0.0}, (4, 3, 63, 63)),
    ("vgg11", {"num_classes": 3, "dropout": 0.0}, (4, 3, 32, 32)),
    ("vgg11_bn", {"num_classes": 3, "dropout": 0.0}, (4, 3, 32, 32)),
    ("resnet50", {"num_classes": 3}, (2, 3, 32, 32)),
])
def test_big_classifier_learns(name, kwargs, shape, device):
    model = models.get_model(name, **kwargs).to(device)
    x, y = batch(shape, kwargs["num_classes"], device=device)
    assert_learns(train(model, x, y, F.cross_entropy, 5, 1e-4), 0.8)


@pytest.mark.parametrize("cls", [models.ConvAutoencoder, models.UpsampleAutoencoder])
def test_autoencoder_learns_to_reconstruct(cls, device):
    images = np.zeros((8, 1, 16, 16), np.float32)  # a bright 6x6 square at a different place in each
    for i, (top, left) in enumerate(np.random.default_rng(0).integers(0, 10, (8, 2))):
        images[i, 0, top:top + 6, left:left + 6] = 1.0
    x = mc.tensor(images, device=device)
    assert_learns(train(cls(widths=(8, 16)).to(device), x, x, F.mse_loss, 15, 1e-2), 0.7)
