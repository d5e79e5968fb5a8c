"""Data augmentation and preprocessing on NumPy images.

Two layouts, told apart by dtype:

* **HWC uint8**: ``(H, W, C)`` (or ``(H, W)``) bytes 0..255, as image files and
  Pillow give them;
* **CHW float**: ``(C, H, W)`` (or ``(H, W)``) floats, usually in [0, 1], as the
  network wants them (``ToTensor`` turns the first into the second).

Geometric transforms (``Resize``, the crops, flips, ``RandomRotation``,
``RandomAffine``) and ``ColorJitter`` accept both and return the layout and
dtype they were given; ``Normalize`` and ``GaussianNoise`` need CHW float;
``ToTensor`` needs HWC uint8 (or a Pillow image).  A transform given the other
layout says which one it expects.

Randomness: each random transform draws from its own ``rng`` if given one (an
int seed or a ``numpy.random.Generator``), else from the generator a
``DataLoader`` installs for the batch being built, else from minicnn's CPU
generator, so ``minicnn.manual_seed(s)`` makes a pipeline reproducible.

Warps (rotation, affine, resize, resized crop) sample by inverse mapping with
bilinear or nearest interpolation (see ``minicnn.data._warp``): no per-pixel
Python loop.  ``transforms.batch`` holds vectorised forms of the expensive
transforms that work on a whole ``(N, C, H, W)`` batch with per-sample random
parameters (use them as ``DataLoader(batch_transform=...)``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._common import as_generator, get_rng
from ._warp import affine_matrices, check_options, crop_resize_inverse, inverse_of, warp_affine

PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


# ------------------------------------------------------------------- layouts
def _as_array(img, name):
    if isinstance(img, np.ndarray):
        return img
    if hasattr(img, "__array_interface__") and hasattr(img, "mode"):  # a Pillow image
        return np.asarray(img)
    raise TypeError(
        f"{name}: expected a NumPy image (HWC uint8 or CHW float), got {type(img).__name__}; "
        "transforms run on NumPy arrays before the loader makes Tensors"
    )


def layout_of(img, name="transform"):
    """'hwc' for uint8 images, 'chw' for float images; a clear error for anything else."""
    shape = tuple(img.shape)
    if img.dtype == np.uint8:
        if img.ndim == 2 or (img.ndim == 3 and shape[2] <= 4):
            return "hwc"
        if img.ndim == 3 and shape[0] <= 4:
            raise ValueError(
                f"{name}: uint8 images must be HWC (H, W, C), but got shape {shape}, which looks like CHW; "
                "transpose with img.transpose(1, 2, 0), or convert to CHW float with img.astype('float32') / 255"
            )
    elif img.dtype.kind == "f":
        if img.ndim == 2 or (img.ndim == 3 and not (shape[0] > 4 and shape[2] <= 4)):
            return "chw"
        if img.ndim == 3:
            raise ValueError(
                f"{name}: float images must be CHW (C, H, W), but got shape {shape}, which looks like HWC; "
                "transpose with img.transpose(2, 0, 1) (ToTensor does this for HWC uint8 images)"
            )
    else:
        raise TypeError(
            f"{name}: expected an HWC uint8 or a CHW float image, but got dtype {img.dtype} (shape {shape})"
        )
    raise ValueError(
        f"{name}: expected an image of shape (H, W, C) uint8, (C, H, W) float or (H, W), but got shape {shape} "
        f"dtype {img.dtype}"
    )


def _to_batch(img, name):
    """The image as a (1, C, H, W) array plus a function putting a result back in the same layout."""
    img = _as_array(img, name)
    layout = layout_of(img, name)
    if img.ndim == 2:
        return img[None, None], lambda out: out[0, 0]
    if layout == "hwc":
        return img.transpose(2, 0, 1)[None], lambda out: np.ascontiguousarray(out[0].transpose(1, 2, 0))
    return img[None], lambda out: out[0]


def _require_chw_float(img, name):
    img = _as_array(img, name)
    if img.dtype.kind != "f":
        raise TypeError(
            f"{name}: expects a CHW float image, but got dtype {img.dtype} shape {tuple(img.shape)}; "
            "apply ToTensor() first to turn an HWC uint8 image into CHW float32 in [0, 1]"
        )
    layout_of(img, name)
    return img


# ------------------------------------------------------------ argument helpers
def _size_pair(size, name):
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{name}: size must be a positive int or (height, width), but got size={size!r}")
    return size


def _symmetric_range(value, name, arg, center=0.0, low=None):
    """A number v -> (center - v, center + v); a pair is kept."""
    if value is None:
        return None
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{name}: {arg} must be non-negative when it is a single number, but got {arg}={value!r}")
        lo, hi = center - value, center + value
    else:
        lo, hi = (float(v) for v in value)
        if lo > hi:
            raise ValueError(f"{name}: {arg} range must be (min, max) with min <= max, but got {arg}={value!r}")
    if low is not None:
        lo = max(lo, low)
    return float(lo), float(hi)


def _padding4(padding, name):
    """int / (lr, tb) / (left, top, right, bottom) -> (left, top, right, bottom)."""
    if padding is None:
        return (0, 0, 0, 0)
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    if len(padding) == 4:
        return padding
    raise ValueError(f"{name}: padding must be an int, (left/right, top/bottom) or 4 values, but got {padding!r}")


def pad_images(x, padding, fill=0, padding_mode="constant"):
    """Pad the last two axes of (..., H, W) by (left, top, right, bottom)."""
    left, top, right, bottom = padding
    if not any(padding):
        return x
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"pad: padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode != "constant":
        return np.pad(x, widths, mode=padding_mode)
    fill = np.asarray(fill, dtype=np.float64).reshape(-1)
    if fill.size == 1:
        return np.pad(x, widths, mode="constant", constant_values=fill[0])
    if x.ndim < 3 or fill.size != x.shape[-3]:
        raise ValueError(f"pad: fill has {fill.size} values but the image has shape {tuple(x.shape)}")
    out = np.empty(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), dtype=x.dtype)
    out[...] = fill.reshape(-1, 1, 1).astype(x.dtype)
    out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
    return out


# ----------------------------------------------------- random parameter draws
def sample_affine(rng, n, height, width, degrees, translate=None, scale=None, shear=None, center=None):
    """Forward affine matrices (n, 3, 3) with parameters drawn uniformly per image.

    angle ~ U(degrees); tx ~ U(-a W, a W), ty ~ U(-b H, b H) for translate=(a, b);
    scale ~ U(scale); shear_x ~ U(shear[0:2]), shear_y ~ U(shear[2:4]) (0 when
    not given); all about ``center`` (the image centre ((W-1)/2, (H-1)/2) by default).
    """
    angle = rng.uniform(degrees[0], degrees[1], n) if degrees[0] != degrees[1] else np.full(n, degrees[0])
    if translate is not None:
        tx = rng.uniform(-translate[0] * width, translate[0] * width, n)
        ty = rng.uniform(-translate[1] * height, translate[1] * height, n)
    else:
        tx = ty = np.zeros(n)
    s = rng.uniform(scale[0], scale[1], n) if scale is not None else np.ones(n)
    if shear is not None:
        shx = rng.uniform(shear[0], shear[1], n)
        shy = rng.uniform(shear[2], shear[3], n) if len(shear) == 4 else np.zeros(n)
    else:
        shx = shy = np.zeros(n)
    if center is None:
        center = ((width - 1) / 2.0, (height - 1) / 2.0)
    centers = np.broadcast_to(np.asarray(center, dtype=np.float64), (n, 2))
    return affine_matrices(angle, np.stack([tx, ty], axis=1), s, shx, shy, centers)


def sample_resized_crop(rng, n, height, width, scale, ratio):
    """Boxes (top, left, h, w) of RandomResizedCrop, each an array of n.

    As torchvision: up to 10 tries of area ~ U(scale) * H W and log-uniform
    aspect ratio; a box that does not fit falls back to the central crop with
    the ratio clamped to ``ratio``.  Vectorised: all tries are drawn at once.
    """
    tries = 10
    area = height * width
    target = area * rng.uniform(scale[0], scale[1], (n, tries))
    log_ratio = rng.uniform(math.log(ratio[0]), math.log(ratio[1]), (n, tries))
    aspect = np.exp(log_ratio)
    w = np.rint(np.sqrt(target * aspect)).astype(np.int64)
    h = np.rint(np.sqrt(target / aspect)).astype(np.int64)
    ok = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    first = np.argmax(ok, axis=1)
    found = ok[np.arange(n), first]
    w = w[np.arange(n), first]
    h = h[np.arange(n), first]
    # fallback: central crop
    in_ratio = width / height
    if in_ratio < ratio[0]:
        fw, fh = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        fh, fw = height, int(round(height * ratio[1]))
    else:
        fw, fh = width, height
    w = np.where(found, w, fw)
    h = np.where(found, h, fh)
    top = np.where(found, np.floor(rng.random(n) * (height - h + 1)).astype(np.int64), (height - h) // 2)
    left = np.where(found, np.floor(rng.random(n) * (width - w + 1)).astype(np.int64), (width - w) // 2)
    return top, left, h, w


def jitter_factors(rng, n, value):
    return np.ones(n) if value is None else rng.uniform(value[0], value[1], n)


def color_jitter(x, brightness, contrast, saturation):
    """Apply per-image factors (arrays of N) to (N, C, H, W): brightness, contrast, saturation.

        brightness: x * b
        contrast:   m + c (x - m),  m = the mean grey level of the image
        saturation: g + s (x - g),  g = the grey image 0.299 R + 0.587 G + 0.114 B (3 channels only)

    floats are clipped to [0, 1]; uint8 are computed in float, rounded and clipped to 0..255.
    """
    top = 255.0 if x.dtype == np.uint8 else 1.0
    out = x.astype(np.float32) if x.dtype == np.uint8 else x.copy()
    shape = (-1, 1, 1, 1)

    def grey(img):
        if img.shape[1] == 3:
            return (0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2])[:, None]
        return img.mean(axis=1, keepdims=True)

    out *= brightness.reshape(shape).astype(out.dtype)
    np.clip(out, 0, top, out=out)
    mean = grey(out).mean(axis=(1, 2, 3), keepdims=True)
    out = mean + contrast.reshape(shape).astype(out.dtype) * (out - mean)
    np.clip(out, 0, top, out=out)
    if out.shape[1] == 3:
        g = grey(out)
        out = g + saturation.reshape(shape).astype(out.dtype) * (out - g)
        np.clip(out, 0, top, out=out)
    if x.dtype == np.uint8:
        return np.rint(out).astype(np.uint8)
    return out.astype(x.dtype, copy=False)


# ---------------------------------------------------------------- transforms
class Compose:
    """Apply transforms one after the other: ``Compose([RandomCrop(32, 4), ToTensor()])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def __repr__(self):
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


class ToTensor:
    """HWC uint8 (or HW uint8, or a Pillow image) -> CHW float32 in [0, 1]: x / 255.

    The result is a NumPy array in the layout the network wants; the
    ``DataLoader`` turns batches of them into minicnn Tensors.
    """

    def __call__(self, img):
        img = _as_array(img, "ToTensor")
        if img.dtype != np.uint8:
            raise TypeError(
                f"ToTensor: expects an HWC uint8 image (or a Pillow image), but got dtype {img.dtype} shape "
                f"{tuple(img.shape)}; a CHW float image needs no ToTensor"
            )
        layout_of(img, "ToTensor")
        if img.ndim == 2:
            img = img[:, :, None]
        return np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32) * np.float32(1 / 255)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """CHW float: out[c] = (x[c] - mean[c]) / std[c]."""

    def __init__(self, mean, std, inplace=False):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, but got std={std!r}")
        self.inplace = inplace

    def _apply(self, x, channels, name):
        if self.mean.size not in (1, channels) or self.std.size not in (1, channels):
            raise ValueError(
                f"{name}: mean has {self.mean.size} and std {self.std.size} values, but the image has {channels} channels"
            )
        mean = self.mean.astype(x.dtype).reshape(-1, 1, 1)
        std = self.std.astype(x.dtype).reshape(-1, 1, 1)
        if self.inplace:
            x -= mean
            x /= std
            return x
        return (x - mean) / std

    def __call__(self, img):
        img = _require_chw_float(img, "Normalize")
        if img.ndim == 2:
            return self._apply(img[None], 1, "Normalize")[0]
        return self._apply(img, img.shape[0], "Normalize")

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Resize:
    """Resize to ``size`` = (h, w), or make the shorter side ``size`` keeping the aspect ratio.

    Inverse mapping with pixel-centre alignment (``align_corners=False``):
    output pixel x' reads x = (x' + 0.5) W / w - 0.5, clamped at the border;
    bilinear (default) or nearest.  No antialiasing when shrinking (as
    ``F.interpolate``): shrink by large factors in steps or blur first.
    """

    def __init__(self, size, interpolation="bilinear"):
        self.size = size if isinstance(size, numbers.Integral) else _size_pair(size, "Resize")
        if isinstance(size, numbers.Integral) and size < 1:
            raise ValueError(f"Resize: size must be positive, but got size={size!r}")
        check_options(interpolation, "edge", "Resize")
        self.interpolation = interpolation

    def output_size(self, height, width):
        if not isinstance(self.size, numbers.Integral):
            return self.size
        short, long = (height, width) if height <= width else (width, height)
        new_short, new_long = self.size, int(self.size * long / short)
        return (new_short, new_long) if height <= width else (new_long, new_short)

    def __call__(self, img):
        x, back = _to_batch(img, "Resize")
        h, w = self.output_size(x.shape[2], x.shape[3])
        if (h, w) == x.shape[2:]:
            return back(x.copy())
        inv = crop_resize_inverse(0, 0, x.shape[2], x.shape[3], h, w)
        return back(warp_affine(x, inv, (h, w), self.interpolation, fill_mode="edge"))

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.interpolation!r})"


class CenterCrop:
    """The central (h, w) box; top = round((H - h) / 2), left = round((W - w) / 2).

    An image smaller than the box is padded with zeros first (as torchvision).
    """

    def __init__(self, size):
        self.size = _size_pair(size, "CenterCrop")

    def __call__(self, img):
        x, back = _to_batch(img, "CenterCrop")
        h, w = self.size
        height, width = x.shape[2:]
        if h > height or w > width:
            ph, pw = max(h - height, 0), max(w - width, 0)
            x = pad_images(x, (pw // 2, ph // 2, (pw + 1) // 2, (ph + 1) // 2))
            height, width = x.shape[2:]
        top = int(round((height - h) / 2.0))
        left = int(round((width - w) / 2.0))
        return back(x[:, :, top : top + h, left : left + w].copy())

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """Pad by ``padding``, then cut an (h, w) box at a uniformly random position.

    padding: int, (left/right, top/bottom) or (left, top, right, bottom);
    padding_mode: "constant" (with ``fill``), "edge", "reflect" or "symmetric";
    pad_if_needed pads an image smaller than the box.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant", rng=None):
        self.size = _size_pair(size, "RandomCrop")
        self.padding = _padding4(padding, "RandomCrop")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.rng = as_generator(rng)

    def padded(self, x, name):
        x = pad_images(x, self.padding, self.fill, self.padding_mode)
        h, w = self.size
        height, width = x.shape[-2:]
        if self.pad_if_needed and (h > height or w > width):
            ph, pw = max(h - height, 0), max(w - width, 0)
            x = pad_images(x, (pw, ph, pw, ph), self.fill, self.padding_mode)
            height, width = x.shape[-2:]
        if h > height or w > width:
            raise ValueError(
                f"{name}: crop size {self.size} is larger than the (padded) image of {height}x{width}; "
                "use pad_if_needed=True or a larger padding"
            )
        return x

    def __call__(self, img):
        x, back = _to_batch(img, "RandomCrop")
        x = self.padded(x, "RandomCrop")
        rng = get_rng(self.rng)
        h, w = self.size
        top = int(rng.integers(0, x.shape[2] - h + 1))
        left = int(rng.integers(0, x.shape[3] - w + 1))
        return back(x[:, :, top : top + h, left : left + w].copy())

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode!r})"


class RandomResizedCrop:
    """A random box of area ~ U(scale) x H W and aspect ratio ~ logU(ratio), resized to ``size``.

    One warp: crop and resize together are the inverse map
    x = left + (x' + 0.5) w_box / w - 0.5 (the same for y).
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation="bilinear", rng=None):
        self.size = _size_pair(size, "RandomResizedCrop")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        if not (0 < self.scale[0] <= self.scale[1]) or not (0 < self.ratio[0] <= self.ratio[1]):
            raise ValueError(f"RandomResizedCrop: scale and ratio must be increasing positive ranges, got {scale}, {ratio}")
        check_options(interpolation, "edge", "RandomResizedCrop")
        self.interpolation = interpolation
        self.rng = as_generator(rng)

    def __call__(self, img):
        x, back = _to_batch(img, "RandomResizedCrop")
        box = sample_resized_crop(get_rng(self.rng), 1, x.shape[2], x.shape[3], self.scale, self.ratio)
        inv = crop_resize_inverse(*box, *self.size)
        return back(warp_affine(x, inv, self.size, self.interpolation, fill_mode="edge"))

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomHorizontalFlip:
    """With probability p, mirror left-right: out[..., j] = x[..., W-1-j]."""

    def __init__(self, p=0.5, rng=None):
        self.p = float(p)
        self.rng = as_generator(rng)

    def __call__(self, img):
        x, back = _to_batch(img, type(self).__name__)
        if get_rng(self.rng).random() < self.p:
            x = self._flip(x)
        return back(x.copy())

    @staticmethod
    def _flip(x):
        return x[..., ::-1]

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """With probability p, mirror top-bottom: out[..., i, :] = x[..., H-1-i, :]."""

    @staticmethod
    def _flip(x):
        return x[..., ::-1, :]


class RandomAffine:
    """A random affine map about the image centre, applied by inverse mapping.

        A = T(c + t) R(angle) Sh(shear_x, shear_y) S(scale) T(-c),    out(p') = x(A^-1 p')

    degrees: angle ~ U(-d, d) (or a (min, max) pair); > 0 turns counter-clockwise.
    translate: (a, b): t ~ (U(-a W, a W), U(-b H, b H)) pixels, not rounded.
    scale: (min, max) zoom factor.  shear: s -> shear_x ~ U(-s, s); (min, max)
    for x only; 4 values for x then y (degrees).
    interpolation: "bilinear" (default; torchvision's default is nearest) or "nearest".
    fill / fill_mode: what is read outside the image: "constant" (``fill``,
    per channel allowed, in the image's units: 0..255 for uint8), "edge",
    "reflect" or "wrap".
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation="bilinear", fill=0,
                 fill_mode="constant", center=None, rng=None):
        name = type(self).__name__
        self.degrees = _symmetric_range(degrees, name, "degrees")
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0 <= t <= 1 for t in translate):
                raise ValueError(f"{name}: translate must be two fractions in [0, 1], but got translate={translate!r}")
        self.translate = translate
        if scale is not None:
            scale = tuple(float(s) for s in scale)
            if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
                raise ValueError(f"{name}: scale must be (min, max) with 0 < min <= max, but got scale={scale!r}")
        self.scale = scale
        if shear is not None:
            if isinstance(shear, numbers.Number):
                shear = _symmetric_range(shear, name, "shear")
            shear = tuple(float(s) for s in shear)
            if len(shear) not in (2, 4):
                raise ValueError(f"{name}: shear must be a number, 2 or 4 values, but got shear={shear!r}")
        self.shear = shear
        check_options(interpolation, fill_mode, name)
        self.interpolation = interpolation
        self.fill = fill
        self.fill_mode = fill_mode
        self.center = center
        self.rng = as_generator(rng)

    def matrices(self, rng, n, height, width):
        """Forward matrices (n, 3, 3) for n images of height x width."""
        return sample_affine(rng, n, height, width, self.degrees, self.translate, self.scale, self.shear, self.center)

    def __call__(self, img):
        x, back = _to_batch(img, type(self).__name__)
        forward = self.matrices(get_rng(self.rng), 1, x.shape[2], x.shape[3])
        return back(warp_affine(x, inverse_of(forward), x.shape[2:], self.interpolation, self.fill, self.fill_mode))

    def __repr__(self):
        return (
            f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
            f"shear={self.shear}, interpolation={self.interpolation!r}, fill={self.fill}, fill_mode={self.fill_mode!r})"
        )


class RandomRotation(RandomAffine):
    """Rotate by angle ~ U(-d, d) (or (min, max)) degrees about the centre; > 0 is counter-clockwise.

    interpolation "nearest" (default, as torchvision) or "bilinear"; with
    ``expand=True`` the output grows to hold the whole rotated image.
    """

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0, fill_mode="constant", rng=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, fill_mode=fill_mode, center=center, rng=rng)
        self.expand = expand

    def __call__(self, img):
        if not self.expand:
            return super().__call__(img)
        x, back = _to_batch(img, "RandomRotation")
        height, width = x.shape[2:]
        forward = self.matrices(get_rng(self.rng), 1, height, width)[0]
        corners = np.array([[-0.5, -0.5, 1], [width - 0.5, -0.5, 1], [-0.5, height - 0.5, 1], [width - 0.5, height - 0.5, 1]])
        moved = corners @ forward.T
        w = int(math.ceil(moved[:, 0].max() - moved[:, 0].min() - 1e-6))
        h = int(math.ceil(moved[:, 1].max() - moved[:, 1].min() - 1e-6))
        shift = np.eye(3)
        shift[:2, 2] = [(w - 1) / 2.0 - (width - 1) / 2.0, (h - 1) / 2.0 - (height - 1) / 2.0]
        inv = inverse_of((shift @ forward)[None])
        return back(warp_affine(x, inv, (h, w), self.interpolation, self.fill, self.fill_mode))


class ColorJitter:
    """Random brightness, contrast and saturation (in this order).

    brightness b: factor ~ U(max(0, 1 - b), 1 + b) (or a (min, max) pair), x * f;
    contrast c: blend with the mean grey level, m + f (x - m);
    saturation s: blend with the grey image, g + f (x - g) (3-channel images).
    Floats are taken to be in [0, 1] and clipped there; uint8 to 0..255.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, rng=None):
        self.brightness = self._range(brightness, "brightness")
        self.contrast = self._range(contrast, "contrast")
        self.saturation = self._range(saturation, "saturation")
        self.rng = as_generator(rng)

    @staticmethod
    def _range(value, arg):
        if value is None or (isinstance(value, numbers.Number) and value == 0):
            return None
        return _symmetric_range(value, "ColorJitter", arg, center=1.0, low=0.0)

    def factors(self, rng, n):
        return (jitter_factors(rng, n, self.brightness), jitter_factors(rng, n, self.contrast),
                jitter_factors(rng, n, self.saturation))

    def __call__(self, img):
        x, back = _to_batch(img, "ColorJitter")
        return back(color_jitter(x, *self.factors(get_rng(self.rng), 1)))

    def __repr__(self):
        return f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation})"


class GaussianNoise:
    """CHW float: x + N(mean, std^2) per pixel, clipped to ``clip`` = (lo, hi) if given.

    The corruption of a denoising autoencoder: train it to map
    ``GaussianNoise(0.3, clip=(0, 1))(x)`` back to ``x``.
    """

    def __init__(self, std=0.1, mean=0.0, clip=None, rng=None):
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, but got std={std!r}")
        self.std = float(std)
        self.mean = float(mean)
        self.clip = clip
        self.rng = as_generator(rng)

    def __call__(self, img):
        img = _require_chw_float(img, "GaussianNoise")
        noise = get_rng(self.rng).standard_normal(img.shape, dtype=np.float32 if img.dtype == np.float32 else np.float64)
        out = img + (self.mean + self.std * noise).astype(img.dtype, copy=False)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return out

    def __repr__(self):
        return f"GaussianNoise(std={self.std}, mean={self.mean}, clip={self.clip})"


from . import batch_transforms as batch  # noqa: E402  (vectorised forms on (N, C, H, W))
