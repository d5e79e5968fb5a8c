"""End to end: a small CNN built from minicnn's layers learns a synthetic task."""
import numpy as np

import minicnn as mc
from minicnn import nn, optim


def bars_dataset(n, seed=0):
    """8x8 images holding one bar: class 0 horizontal, 1 vertical, 2 diagonal, 3 anti-diagonal,
    at a random position, with noise."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.1, size=(n, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 4, size=n)
    idx = np.arange(8)
    for i, (label, pos) in enumerate(zip(labels, rng.integers(1, 7, size=n))):
        if label == 0:
            images[i, 0, pos, :] += 1
        elif label == 1:
            images[i, 0, :, pos] += 1
        elif label == 2:
            images[i, 0, idx, idx] += 1
        else:
            images[i, 0, idx, 7 - idx] += 1
    return images, labels


def test_small_cnn_reaches_full_training_accuracy():
    mc.manual_seed(0)
    images, labels = bars_dataset(256)
    x, y = mc.tensor(images), mc.tensor(labels)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(16, 4),
    )
    opt = optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    first_loss = None
    for step in range(120):
        batch = np.random.default_rng(step).choice(256, 64, replace=False)
        loss = loss_fn(model(x[batch]), y[batch])
        first_loss = first_loss if first_loss is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with mc.no_grad():
        accuracy = (model(x).argmax(axis=1) == y).numpy().mean()
    assert loss.item() < first_loss / 10
    assert accuracy >= 0.98, f"training accuracy {accuracy:.3f}"  # chance is 0.25
