"""Small synthetic images for the style tests (no files, no downloads)."""
import numpy as np
import pytest


def stripes(height, width, seed=0):
    """A 'style' picture: coloured diagonal stripes with a little noise, (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    wave = np.sin((xx + yy) / 2.5)[..., None]
    colours = np.array([[230, 60, 40], [30, 70, 200]], dtype=np.float64)
    image = np.where(wave > 0, colours[0], colours[1]) + rng.normal(0, 10, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def blobs(height, width, seed=1):
    """A 'content' picture: smooth shapes on a gradient, (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width] / max(height, width)
    image = np.stack([200 * xx + 30, 160 * yy + 40, 120 + 60 * np.sin(6 * xx * yy)], axis=-1)
    for _ in range(3):
        cy, cx, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def content_image():
    return blobs(64, 64)


@pytest.fixture
def style_image():
    return stripes(64, 64)
