"""Small hand-built models whose right answers the tests know."""
import numpy as np

import minicnn as mc
from minicnn import nn

SIZE = 16  # side of the quadrant model's images


class Mask(nn.Module):
    """Multiplies the image by a fixed 0/1 mask: everything outside the mask is ignored."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mc.tensor(mask))

    def forward(self, x):
        return x * self.mask


def quadrant_model():
    """Class 0's score depends only on the top-right quadrant of a (1, 16, 16) image; class 1's is 0.

    mask (top-right quadrant) -> conv 3x3 (channel 0 copies the image, channel 1
    copies it negated) -> ReLU -> global average -> fc (class 0 = channel 0).
    """
    mask = np.zeros((1, 1, SIZE, SIZE), dtype=np.float32)
    mask[..., : SIZE // 2, SIZE // 2:] = 1
    conv = nn.Conv2d(1, 2, 3, padding=1)
    identity = np.zeros((3, 3), dtype=np.float32)
    identity[1, 1] = 1
    conv.weight.data[...] = np.stack([identity, -identity])[:, None]
    conv.bias.data[...] = 0
    fc = nn.Linear(2, 2)
    fc.weight.data[...] = [[1, 0], [0, 0]]
    fc.bias.data[...] = 0
    return nn.Sequential(Mask(mask), conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)


def quadrant_image():
    """Bright everywhere, brightest in the bottom-left (a distractor the model ignores)."""
    image = np.full((1, SIZE, SIZE), 0.8, dtype=np.float32)
    image[:, SIZE // 2:, : SIZE // 2] = 1.0
    return image


def in_top_right(row, col):
    return row < SIZE // 2 and col >= SIZE // 2


def small_cnn(in_channels=1, classes=4, size=12):
    """conv -> ReLU -> pool -> conv -> ReLU -> flatten -> fc, for (in_channels, size, size) images."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * (size // 2) ** 2, classes),
    )


def snapshot(model):
    """Copies of every parameter and buffer, to check later that nothing changed."""
    return {name: t.numpy().copy() for name, t in list(model.named_parameters()) + list(model.named_buffers())}


def assert_untouched(model, before):
    """Parameters and buffers bit-identical to ``before``, no parameter gradient, no hook left."""
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name in before:
        assert np.array_equal(after[name], before[name]), f"{name} changed"
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
