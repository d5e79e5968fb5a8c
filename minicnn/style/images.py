"""Images in and out: load, resize and save with Pillow; arrays to tensors and back.

Conventions:
* an *image* is a NumPy array of shape (H, W, 3), dtype uint8, RGB;
* a *tensor image* is a minicnn Tensor of shape (1, 3, H, W), float32, values in [0, 1]:
  the form the optimisation works on (on any device).

Modes: photographs come in many Pillow modes.  ``load_image`` converts to RGB
  * "RGB"                              as is;
  * "L", "1" (grey, black and white)   the grey value copied to R, G and B;
  * "P", "PA" (palette)                through the palette (and its transparency);
  * "RGBA", "LA", "RGBa", "La"         alpha composited onto white (a transparent
                                       pixel becomes white, not its hidden colour);
  * "CMYK", "YCbCr", "LAB", "HSV"      Pillow's colour conversion;
  * "I", "I;16", "F" (16/32-bit grey or float) are refused with a message: their
    range is not 0..255, and guessing a scaling would silently change the picture.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["load_image", "resize_image", "save_image", "image_to_tensor", "tensor_to_image",
           "sample_image", "read_image_argument"]

_ALPHA_MODES = ("RGBA", "LA", "RGBa", "La", "PA")
_CONVERTIBLE = ("RGB", "L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV") + _ALPHA_MODES


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("minicnn.style reads and writes images with Pillow: pip install Pillow") from None
    return Image


def load_image(path, size=None):
    """Read an image file as an (H, W, 3) uint8 RGB array, optionally resized (see ``resize_image``).

    Raises FileNotFoundError for a missing file and ValueError for a file Pillow
    cannot read or a mode that cannot be converted to RGB (see the module docstring).
    """
    Image = _pil()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"cannot read image {path!r}: it is a directory")
    try:
        with Image.open(path) as img:
            img.load()
            rgb = to_rgb(img, path)
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"cannot read image {path!r}: {error}") from None
    array = np.asarray(rgb, dtype=np.uint8)
    return resize_image(array, size) if size is not None else array


def to_rgb(img, name="image"):
    """A Pillow image converted to mode RGB (the rules are in the module docstring)."""
    Image = _pil()
    mode = img.mode
    if mode == "RGB":
        return img
    if mode not in _CONVERTIBLE:
        raise ValueError(f"cannot use {name!r}: Pillow mode {mode!r} is not supported "
                         f"(supported: {', '.join(_CONVERTIBLE)}); save it as 8-bit RGB or grey first")
    if mode == "P" and "transparency" in img.info:
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def resize_image(image, size):
    """Resize an (H, W, 3) uint8 image with Pillow's Lanczos filter.

    size: an int, the new length of the *longer* side (the aspect ratio is kept,
    the shorter side rounded), or a pair (height, width).
    """
    Image = _pil()
    height, width = image.shape[:2]
    if isinstance(size, (tuple, list)):
        new_height, new_width = (int(s) for s in size)
    else:
        size = int(size)
        scale = size / max(height, width)
        new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    if new_height < 1 or new_width < 1:
        raise ValueError(f"resize_image: size must be positive, got {size!r}")
    if (new_height, new_width) == (height, width):
        return image
    resized = Image.fromarray(image).resize((new_width, new_height), Image.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


def save_image(image, path):
    """Write an (H, W, 3) uint8 array (or a (1, 3, H, W) tensor in [0, 1]) to ``path``.

    The format comes from the suffix (.png, .jpg, ...); the folder is created if needed.
    """
    Image = _pil()
    if not isinstance(image, np.ndarray):
        image = tensor_to_image(image)
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    try:
        Image.fromarray(image).save(path)
    except (ValueError, KeyError) as error:  # unknown suffix
        raise ValueError(f"cannot save image to {path!r}: {error} (use a suffix such as .png or .jpg)") from None
    return path


def image_to_tensor(image, device="cpu", requires_grad=False):
    """(H, W, 3) uint8 -> Tensor (1, 3, H, W) float32 in [0, 1] on ``device``."""
    from .. import float32, tensor

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image_to_tensor: expected an (H, W, 3) RGB array, got shape {image.shape}")
    chw = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    return tensor(chw, dtype=float32, device=device, requires_grad=requires_grad)


def tensor_to_image(x):
    """Tensor (1, 3, H, W) in [0, 1] (any device) -> (H, W, 3) uint8 (values clipped to [0, 1])."""
    array = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if array.ndim != 4 or array.shape[:2] != (1, 3):
        raise ValueError(f"tensor_to_image: expected a (1, 3, H, W) tensor, got shape {array.shape}")
    return (np.clip(array[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def sample_image(name):
    """scikit-learn's sample photograph ``name`` ('china' or 'flower', '.jpg' optional) as (H, W, 3) uint8."""
    from ..data import sample_images

    images = sample_images()
    key = name[:-4] if name.endswith(".jpg") else name
    if key not in images:
        raise ValueError(f"unknown sample image {name!r}; available: {', '.join(sorted(images))}")
    return images[key]


def read_image_argument(spec, size=None):
    """A command-line image: a file path, or ``sample:china`` / ``sample:flower`` for the built-in photographs."""
    if spec.startswith("sample:"):
        image = sample_image(spec[len("sample:"):])
        return resize_image(image, size) if size is not None else image
    return load_image(spec, size)
