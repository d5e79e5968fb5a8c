"""Reading one image file as a model input: (C, H, W) float32 in [0, 1].

Used by ``minicnn predict`` and ``minicnn viz`` to feed a photo or a scanned
digit to a trained network.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def load_image(path, shape, invert="auto"):
    """An image file as (C, H, W) float32 in [0, 1], converted to ``shape`` = (C, H, W).

    PNG, JPEG, ... are read with Pillow, converted to grey (C = 1) or RGB
    (C = 3) and resized (bilinear) to H x W; a ``.npy`` file must already
    hold a (C, H, W) or (H, W) array in [0, 1].  A grey image is inverted
    (``1 - x``: dark strokes on light paper become MNIST's light strokes on
    black) when ``invert`` is "yes", or "auto" and its mean is above 0.5.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image {str(path)!r} does not exist")
    channels, height, width = shape
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False).astype(np.float32)
        array = array[None] if array.ndim == 2 else array
    else:
        try:
            from PIL import Image
        except ImportError as error:
            raise ImportError('reading image files needs Pillow: pip install "minicnn[viz]"') from error
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
            array = np.asarray(img, dtype=np.float32) / 255.0
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    if channels == 1 and (invert == "yes" or (invert == "auto" and array.mean() > 0.5)):
        array = 1.0 - array
    return array
