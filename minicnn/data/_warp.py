"""Geometric resampling by inverse mapping, vectorised over a whole batch.

A warp fills each output pixel by asking where it came from.  Pixel centres
sit at integer coordinates (x = column, y = row).  For output pixel (x', y')
the source point is

    [x]   [a  b  c] [x']
    [y] = [d  e  f] [y']        (the *inverse* 2x3 affine matrix, one per image)
                    [1 ]

and the value there is read by

* nearest:  I[round(y), round(x)]
* bilinear: with x0 = floor(x), fx = x - x0 (same for y),
            (1-fy)(1-fx) I[y0, x0] + (1-fy) fx I[y0, x0+1]
            + fy (1-fx) I[y0+1, x0] + fy fx I[y0+1, x0+1]

Reads outside the image follow ``fill_mode``: "constant" (the ``fill``
value, blended smoothly at the border), "edge" (the nearest border pixel),
"reflect" (mirror without repeating the edge: d c b | a b c d | c b a) or
"wrap" (periodic).  Working backwards means every output pixel gets exactly
one value: no holes, no collisions, as a forward splat would have.

All of it is array code: one coordinate grid, four gathers (``take_along_axis``)
and a weighted sum, for all N images and C channels at once.
"""
from __future__ import annotations

import numpy as np

FILL_MODES = ("constant", "edge", "reflect", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def check_options(interpolation, fill_mode, where):
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation must be one of {INTERPOLATIONS}, but got interpolation={interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{where}: fill_mode must be one of {FILL_MODES}, but got fill_mode={fill_mode!r}")


def _map_index(i, n, fill_mode):
    """Integer tap positions -> valid indices in [0, n) for the non-constant modes."""
    if fill_mode == "edge":
        return np.clip(i, 0, n - 1)
    if fill_mode == "wrap":
        return np.mod(i, n)
    # reflect (numpy.pad's "reflect"): period 2(n-1), mirrored about 0 and n-1
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.abs(np.mod(i, period))
    return np.where(i >= n, period - i, i)


def _fill_array(fill, channels):
    fill = np.asarray(fill, dtype=np.float32).reshape(-1)
    if fill.size not in (1, channels):
        raise ValueError(f"fill has {fill.size} values but the images have {channels} channels")
    return np.broadcast_to(fill, (channels,))


def warp_affine(images, inverse, out_shape, interpolation="bilinear", fill=0.0, fill_mode="constant"):
    """Resample images through inverse affine maps.

    images:  (N, C, H, W) float or uint8
    inverse: (N, 2, 3) maps output (x', y', 1) to input (x, y)
    out_shape: (h, w)
    returns (N, C, h, w), the dtype of ``images`` (uint8 rounded and clipped)
    """
    check_options(interpolation, fill_mode, "warp_affine")
    n, c, height, width = images.shape
    h, w = out_shape
    inverse = np.asarray(inverse, dtype=np.float64).reshape(n, 2, 3)
    work = np.float32 if images.dtype == np.uint8 else images.dtype     # arithmetic dtype
    fill_values = _fill_array(fill, c)
    src = images
    if fill_mode == "constant":
        # One border pixel of the fill value: any tap outside the image, clipped
        # into this padded frame, lands on the border and reads the fill.
        if images.dtype == np.uint8:
            fill_values = np.clip(np.rint(fill_values), 0, 255)
        src = np.empty((n, c, height + 2, width + 2), dtype=images.dtype)
        src[...] = fill_values.reshape(1, -1, 1, 1).astype(images.dtype)
        src[:, :, 1:-1, 1:-1] = images
        offset = 1
    else:
        offset = 0
    ph, pw = src.shape[2], src.shape[3]

    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)])             # (3, h*w)
    coords = (inverse @ grid).astype(np.float32)                          # (N, 2, h*w)
    x, y = coords[:, 0], coords[:, 1]

    def columns(ix):
        """Integer tap columns -> valid columns of ``src``."""
        return np.clip(ix + offset, 0, pw - 1) if fill_mode == "constant" else _map_index(ix, width, fill_mode)

    def rows(iy):
        """Integer tap rows -> flat offsets (row * pw) of valid rows of ``src``."""
        iy = np.clip(iy + offset, 0, ph - 1) if fill_mode == "constant" else _map_index(iy, height, fill_mode)
        return iy * pw

    flat = src.reshape(n, c, ph * pw)

    def gather(row_offsets, cols):
        """src[n, :, tap] for every image n and output pixel: (N, C, h*w) in the arithmetic dtype."""
        return np.take_along_axis(flat, (row_offsets + cols)[:, None, :], axis=2).astype(work, copy=False)

    if interpolation == "nearest":
        out = gather(rows(np.floor(y + 0.5).astype(np.intp)), columns(np.floor(x + 0.5).astype(np.intp)))
    else:
        x0f, y0f = np.floor(x), np.floor(y)
        fx = (x - x0f)[:, None, :].astype(work, copy=False)
        fy = (y - y0f)[:, None, :].astype(work, copy=False)
        x0, y0 = x0f.astype(np.intp), y0f.astype(np.intp)
        c0, c1 = columns(x0), columns(x0 + 1)
        r0, r1 = rows(y0), rows(y0 + 1)
        v00, v01 = gather(r0, c0), gather(r0, c1)
        v10, v11 = gather(r1, c0), gather(r1, c1)
        top = v00 + fx * (v01 - v00)
        bottom = v10 + fx * (v11 - v10)
        out = top + fy * (bottom - top)
    out = out.reshape(n, c, h, w)
    if images.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(images.dtype, copy=False)


# ------------------------------------------------------------ matrix builders
def affine_matrices(angle, translate, scale, shear_x, shear_y, center):
    """Forward 3x3 matrices, one per image, of rotate-shear-scale about ``center`` then translate.

        A = T(center + t) . R(angle) . Sh(shear_x, shear_y) . S(scale) . T(-center)

    angle and shears in degrees (angle > 0 turns the picture counter-clockwise
    as displayed, y pointing down); translate (N, 2) in pixels; center (N, 2)
    as (x, y).  Returns (N, 3, 3).
    """
    angle = np.deg2rad(np.asarray(angle, dtype=np.float64))
    n = angle.shape[0]
    cos, sin = np.cos(angle), np.sin(angle)
    # counter-clockwise on screen with y down: x' = cos x + sin y, y' = -sin x + cos y
    rot = np.zeros((n, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = cos, sin, -sin, cos, 1
    shear = np.tile(np.eye(3), (n, 1, 1))
    shear[:, 0, 1] = np.tan(np.deg2rad(shear_x))
    shear[:, 1, 0] = np.tan(np.deg2rad(shear_y))
    scaling = np.tile(np.eye(3), (n, 1, 1))
    scaling[:, 0, 0] = scale
    scaling[:, 1, 1] = scale
    to_origin = np.tile(np.eye(3), (n, 1, 1))
    to_origin[:, :2, 2] = -np.asarray(center)
    back = np.tile(np.eye(3), (n, 1, 1))
    back[:, :2, 2] = np.asarray(center) + np.asarray(translate)
    return back @ rot @ shear @ scaling @ to_origin


def inverse_of(forward):
    """The inverse 2x3 maps (N, 2, 3) of forward 3x3 affine matrices (N, 3, 3)."""
    return np.linalg.inv(forward)[:, :2, :]


def crop_resize_inverse(top, left, crop_h, crop_w, out_h, out_w):
    """Inverse maps of "crop the box (top, left, crop_h, crop_w), resize it to (out_h, out_w)".

    Pixel-centre alignment (as ``align_corners=False``): output pixel x' reads
    x = left + (x' + 0.5) * crop_w / out_w - 0.5, and the same for y.
    Arguments are arrays of length N; returns (N, 2, 3).
    """
    top, left, crop_h, crop_w = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (top, left, crop_h, crop_w))
    n = max(top.size, left.size, crop_h.size, crop_w.size)
    sx = np.broadcast_to(crop_w / out_w, (n,))
    sy = np.broadcast_to(crop_h / out_h, (n,))
    inv = np.zeros((n, 2, 3))
    inv[:, 0, 0] = sx
    inv[:, 0, 2] = left + 0.5 * sx - 0.5
    inv[:, 1, 1] = sy
    inv[:, 1, 2] = top + 0.5 * sy - 0.5
    return inv
