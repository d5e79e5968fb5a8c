"""Vectorised augmentation of a whole batch: ``transforms.batch``.

Each transform takes an ``(N, C, H, W)`` batch (float, or uint8) as a NumPy
array or a minicnn Tensor and returns the same kind, drawing its random
parameters per sample, all at once: a flip is one masked copy, a crop one
gather from a sliding-window view, an affine warp one inverse-mapped gather
for the whole batch.  Use them after collation::

    augment = transforms.batch.Compose([
        transforms.batch.RandomCrop(32, padding=4),
        transforms.batch.RandomHorizontalFlip(),
    ])
    loader = DataLoader(train, batch_size=128, shuffle=True, batch_transform=augment)

Parameters and randomness are those of the per-sample transforms of the same
name (``minicnn.data.transforms``).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ._common import as_generator, get_rng
from ._warp import crop_resize_inverse, inverse_of, warp_affine
from . import transforms as _t

Compose = _t.Compose
Lambda = _t.Lambda


def _unwrap(x, name):
    """(N, C, H, W) NumPy array of ``x`` plus a function giving a result back as ``x`` was."""
    if isinstance(x, Tensor):
        data, device = x.data, x.device
        array = backend.to_numpy(data)

        def back(out):
            return Tensor._wrap(backend.to_device(out, device) if device != "cpu" else out, None, 0)
    elif isinstance(x, np.ndarray):
        array, back = x, (lambda out: out)
    else:
        raise TypeError(f"{name}: expected an (N, C, H, W) NumPy array or Tensor, got {type(x).__name__}")
    shape = tuple(array.shape)
    if array.ndim != 4:
        raise ValueError(f"{name}: expected a batch of shape (N, C, H, W), but got shape {shape}")
    if array.dtype != np.uint8 and array.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float or uint8 batch, but got dtype {array.dtype}")
    if shape[1] > 4 and shape[3] <= 4:
        raise ValueError(
            f"{name}: expected NCHW (N, C, H, W), but got shape {shape}, which looks like NHWC; "
            "transpose with x.transpose(0, 3, 1, 2)"
        )
    return array, back


class RandomHorizontalFlip:
    """Mirror each image left-right with probability p (independently)."""

    axis = 3

    def __init__(self, p=0.5, rng=None):
        self.p = float(p)
        self.rng = as_generator(rng)

    def __call__(self, x):
        array, back = _unwrap(x, type(self).__name__)
        flip = get_rng(self.rng).random(array.shape[0]) < self.p
        out = array.copy()
        mirrored = np.flip(array[flip], axis=self.axis)
        out[flip] = mirrored
        return back(out)

    def __repr__(self):
        return f"batch.{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability p (independently)."""

    axis = 2


class RandomCrop(_t.RandomCrop):
    """Pad the batch once, then cut an (h, w) box per image at its own random offset.

    out[n] = padded[n, :, top_n : top_n + h, left_n : left_n + w]: one gather
    from the (N, C, H', W', h, w) sliding-window view.
    """

    def __call__(self, x):
        array, back = _unwrap(x, "batch.RandomCrop")
        padded = self.padded(array, "batch.RandomCrop")
        n = array.shape[0]
        h, w = self.size
        rng = get_rng(self.rng)
        top = rng.integers(0, padded.shape[2] - h + 1, n)
        left = rng.integers(0, padded.shape[3] - w + 1, n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        return back(np.ascontiguousarray(windows[np.arange(n), :, top, left]))

    def __repr__(self):
        return "batch." + super().__repr__()


class RandomAffine(_t.RandomAffine):
    """Per-image random affine maps (see ``transforms.RandomAffine``), one warp for the batch."""

    def __call__(self, x):
        array, back = _unwrap(x, "batch." + type(self).__name__)
        n, _, height, width = array.shape
        forward = self.matrices(get_rng(self.rng), n, height, width)
        return back(warp_affine(array, inverse_of(forward), (height, width), self.interpolation, self.fill, self.fill_mode))

    def __repr__(self):
        return "batch." + super().__repr__()


class RandomRotation(RandomAffine):
    """Per-image random rotations by U(-d, d) degrees (counter-clockwise > 0), output the input's size."""

    def __init__(self, degrees, interpolation="nearest", center=None, fill=0, fill_mode="constant", rng=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, fill_mode=fill_mode, center=center, rng=rng)


class RandomResizedCrop(_t.RandomResizedCrop):
    """Per-image random boxes (as ``transforms.RandomResizedCrop``) resized to ``size``, one warp."""

    def __call__(self, x):
        array, back = _unwrap(x, "batch.RandomResizedCrop")
        n, _, height, width = array.shape
        box = _t.sample_resized_crop(get_rng(self.rng), n, height, width, self.scale, self.ratio)
        inv = crop_resize_inverse(*box, *self.size)
        return back(warp_affine(array, inv, self.size, self.interpolation, fill_mode="edge"))

    def __repr__(self):
        return "batch." + super().__repr__()


class ColorJitter(_t.ColorJitter):
    """Per-image brightness/contrast/saturation factors (see ``transforms.ColorJitter``)."""

    def __call__(self, x):
        array, back = _unwrap(x, "batch.ColorJitter")
        return back(_t.color_jitter(array, *self.factors(get_rng(self.rng), array.shape[0])))


class Normalize(_t.Normalize):
    """out[:, c] = (x[:, c] - mean[c]) / std[c] for a float (N, C, H, W) batch."""

    def __call__(self, x):
        array, back = _unwrap(x, "batch.Normalize")
        if array.dtype.kind != "f":
            raise TypeError(f"batch.Normalize: expects a float batch, but got dtype {array.dtype}; scale to [0, 1] first")
        return back(self._apply(array, array.shape[1], "batch.Normalize"))


class GaussianNoise(_t.GaussianNoise):
    """x + N(mean, std^2) per pixel for a float (N, C, H, W) batch (clipped to ``clip`` if given)."""

    def __call__(self, x):
        array, back = _unwrap(x, "batch.GaussianNoise")
        if array.dtype.kind != "f":
            raise TypeError(f"batch.GaussianNoise: expects a float batch, but got dtype {array.dtype}")
        dtype = np.float32 if array.dtype == np.float32 else np.float64
        out = array + (self.mean + self.std * get_rng(self.rng).standard_normal(array.shape, dtype=dtype)).astype(array.dtype)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return back(out)


__all__ = [
    "Compose", "Lambda", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomAffine",
    "RandomRotation", "RandomResizedCrop", "ColorJitter", "Normalize", "GaussianNoise",
]
