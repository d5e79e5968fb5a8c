"""Hand-made 3x3 kernels from before learned filters: edge and line detectors.

A convolution layer learns its kernels; these were designed by hand, and the
first layer of a trained CNN often ends up with kernels much like them.
``F.conv2d`` computes a cross-correlation (the kernel is not flipped), so a
kernel responds where the image looks like the kernel:

* **Sobel** and **Scharr** (as in the course notes) weigh the three columns
  +1 / 0 / -1 (Sobel rows 1 2 1, Scharr 3 10 3): ``*_x`` is positive where
  the image gets darker from left to right, negative where it gets brighter,
  and zero on flat regions: vertical edges.  ``*_y`` is the transpose:
  horizontal edges, positive where the image gets darker downwards.
* **Line detectors** (Gonzalez and Woods) put +2 along a one-pixel line
  through the centre and -1 elsewhere, so they sum to zero (flat regions give
  0) and respond most to a thin bright line in their direction.  The course
  notes show their uncentred form (1 on the line, 0 elsewhere).  Angles are
  counter-clockwise from the horizontal as the image is shown (row 0 at the
  top): "line_45" rises to the right.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..ops.conv import conv2d
from ..ops.resize import pad
from . import plotting

SOBEL_X = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
SCHARR_X = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float32)
LINE_HORIZONTAL = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], dtype=np.float32)
LINE_135 = np.array([[2, -1, -1], [-1, 2, -1], [-1, -1, 2]], dtype=np.float32)

#: name -> 3x3 kernel, in the order they are drawn
CLASSIC_KERNELS = {
    "sobel_x": SOBEL_X,
    "sobel_y": SOBEL_X.T.copy(),
    "scharr_x": SCHARR_X,
    "scharr_y": SCHARR_X.T.copy(),
    "line_vertical": LINE_HORIZONTAL.T.copy(),
    "line_horizontal": LINE_HORIZONTAL,
    "line_45": LINE_135[:, ::-1].copy(),
    "line_135": LINE_135,
}

#: ITU-R BT.601 luma weights (what Pillow's convert("L") uses)
LUMA = np.array([0.299, 0.587, 0.114])


def to_grey(image):
    """A photo as a grey (H, W) float32 image in [0, 1].

    ``image``: (H, W) or (H, W, 3) (HWC, as image files and ``sample_images()``
    give them), uint8 in 0..255 or floats in [0, 1].
    """
    image = np.asarray(image)
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    image = image.astype(np.float64) / scale
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3] @ LUMA
    if image.ndim != 2:
        raise ValueError(f"to_grey: expected an image (H, W) or (H, W, 3), got shape {image.shape}")
    return image.astype(np.float32)


def apply_kernels(image, kernels=None, path=None):
    """Convolve the grey version of ``image`` with each kernel: ``{name: (H, W) response}``.

    ``kernels``: ``{name: (k, k) array}`` of one odd size (default: the
    classic ones above).  All kernels run as one ``F.conv2d`` with K output
    channels, on the image padded by replicating its border (so the output
    has the image's size, and the border itself makes no edge).  ``path``
    writes the grey image and the magnitude of every response as a PNG.
    """
    kernels = CLASSIC_KERNELS if kernels is None else kernels
    names = list(kernels)
    weights = np.stack([np.asarray(kernels[name], dtype=np.float32) for name in names])  # (K, k, k)
    k = weights.shape[-1]
    if weights.ndim != 3 or weights.shape[1] != k or k % 2 == 0:
        raise ValueError(f"apply_kernels: kernels must all be square of one odd size, got shapes "
                         f"{[np.shape(kernels[name]) for name in names]}")
    grey = to_grey(image)
    with no_grad():
        x = pad(Tensor(grey[None, None]), (k // 2,) * 4, mode="replicate")
        responses = conv2d(x, Tensor(weights[:, None])).numpy()[0]  # (K, H, W)
    result = dict(zip(names, responses))
    if path is not None:
        _plot_responses(grey, result, path)
    return result


def _plot_responses(grey, responses, path, max_cols=3):
    """The grey image, then the magnitude of each response (white: strong, either sign).

    Each tile shows the image at its own resolution (one pixel per pixel; at
    least ``TILE`` inches wide), plus room for a title; the grey scale of each response saturates at its 99.5th
    percentile, so that a few very strong pixels do not darken the rest.
    """
    rows, cols = plotting.grid_shape(len(responses) + 1, max_cols)
    height, width = grey.shape
    tile_width = max(1.0, width / (plotting.TILE * plotting.DPI))  # in tiles
    figure = plotting.new_figure(rows * tile_width * (height / width + 0.15), cols * tile_width)
    axes = figure.subplots(rows, cols, squeeze=False).flat
    plotting.show_tile(axes[0], grey, "grey image", vmin=0, vmax=1)
    for axis, (name, response) in zip(axes[1:], responses.items()):
        magnitude = np.abs(response)
        plotting.show_tile(axis, magnitude, name, vmin=0, vmax=np.percentile(magnitude, 99.5) or 1.0)
    for axis in axes[len(responses) + 1:]:
        axis.axis("off")
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95, wspace=0.04, hspace=0.15)
    plotting.save(figure, path)
