"""DeepDream (Mordvintsev, Olah & Tyka, Google, 2015): let the network exaggerate what it sees.

Where style transfer *descends* a loss, DeepDream *ascends* an objective: the
size of the activations of some layers of a frozen network,

    mean:  J(x) = sum_l mean(A^l(x))          l2:  J(x) = sum_l mean(A^l(x)^2)

(A^l: the post-ReLU activations of layer l).  Gradient ascent on the pixels,
x <- x + lr * dJ/dx, makes whatever excites those feature maps stronger: edges
and stripes for early layers, textures and object parts deeper in.  Three
tricks of the original make it work:

1. **Normalised steps.**  The gradient's scale changes wildly between layers and
   images, so each step is divided by its mean absolute value:

       x <- x + lr * g / mean(|g|),      g = dJ/dx

   Every step then moves a pixel by lr on average, whatever the layer.
2. **Jitter.**  Before each step the image is rolled (shifted with wrap-around)
   by a random offset of up to ``jitter`` pixels in each direction, and rolled
   back after: the gradient of a convnet has a grid pattern from its pooling
   strides, and shifting it every step averages that pattern away.
3. **Octaves.**  Patterns should appear at several scales.  The image is
   processed from small to large over a pyramid of ``octaves`` sizes, each
   ``octave_scale`` times the previous; at each octave

       base   = the original image resized to this octave's size
       x      = base + upscale(detail)         (the detail dreamt so far)
       x      = ``steps`` gradient-ascent steps on x
       detail = x - base

   so the patterns dreamt at a coarse scale are carried up and refined, while
   the photograph itself is always taken at full resolution.

Resizing uses ``F.interpolate`` (bilinear), and every array operation goes
through minicnn tensors or the array module of the image's device, so the
same code runs on CPU and GPU.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from .. import manual_seed, no_grad
from ..backend import get_array_module
from ..nn import functional as F
from .features import LAYER_NAMES, VGGFeatures, check_layers
from .images import image_to_tensor, tensor_to_image
from .transfer import _positive_int, weights_message

__all__ = ["deep_dream", "dream_objective", "octave_sizes", "DreamResult"]


@dataclass
class DreamResult:
    """What ``deep_dream`` returns.

    image: (H, W, 3) uint8, the dreamt picture (same size as the input);
    history: one dict per step, {'octave', 'step', 'size', 'objective'} (the
             objective before that step, on the jittered image);
    pretrained: True with real VGG-19 weights, False with the random-weights fallback.
    """

    image: object
    history: list = field(default_factory=list)
    pretrained: bool = False


def dream_objective(activations, objective="mean"):
    """J = sum over layers of mean(A) ("mean") or mean(A^2) ("l2"); a scalar tensor."""
    if objective not in ("mean", "l2"):
        raise ValueError(f"deep_dream: objective must be 'mean' or 'l2', got {objective!r}")
    total = None
    for act in activations.values():
        term = act.mean() if objective == "mean" else (act * act).mean()
        total = term if total is None else total + term
    return total


def octave_sizes(height, width, octaves, octave_scale):
    """The (height, width) of each octave, smallest first; the last is the image's own size.

    Octave i (counted down from the full image, i = 0) is the image divided by
    octave_scale^i, rounded.
    """
    sizes = [(max(1, round(height / octave_scale ** i)), max(1, round(width / octave_scale ** i)))
             for i in range(octaves)]
    return sizes[::-1]


def deep_dream(image, layers=("conv4_2",), octaves=4, octave_scale=1.4, steps=20, lr=0.01, jitter=32,
               objective="mean", weights=None, device="cpu", seed=None, callback=None, extractor=None,
               log=print):
    """Amplify what ``layers`` respond to in ``image`` by gradient ascent over an octave pyramid.

    Args:
        image: (H, W, 3) uint8 RGB array.
        layers: VGG-19 layer names (a list or a comma-separated string), e.g. "conv4_2".
        octaves: number of scales (1: no pyramid); the smallest must still be at
            least the layers' minimum input size.
        octave_scale: size ratio between consecutive octaves (> 1).
        steps: gradient-ascent steps per octave.
        lr: step size, in units of [0, 1] pixel values per step (on average over
            pixels, thanks to the normalisation by mean |g|).
        jitter: largest random roll in pixels, each direction (0: none).
        objective: "mean" or "l2" (see the module docstring).
        weights, device, seed, extractor, log: as in ``style_transfer``.
        callback: ``callback(entry, x)`` after each step (entry: the history dict).

    Returns a ``DreamResult`` (image, history, pretrained).
    """
    layers = check_layers(layers)
    octaves = _positive_int("octaves", octaves)
    steps = _positive_int("steps", steps)
    if not octave_scale > 1.0:
        raise ValueError(f"deep_dream: octave_scale must be > 1, got {octave_scale!r}")
    if not lr > 0:
        raise ValueError(f"deep_dream: lr must be > 0, got {lr!r}")
    if jitter < 0 or int(jitter) != jitter:
        raise ValueError(f"deep_dream: jitter must be a non-negative integer, got {jitter!r}")
    if objective not in ("mean", "l2"):
        raise ValueError(f"deep_dream: objective must be 'mean' or 'l2', got {objective!r}")
    if seed is not None:
        manual_seed(seed)
    jitter_rng = random.Random(seed)   # the roll offsets: two Python ints per step

    if extractor is None:
        extractor = VGGFeatures(layers, weights=weights)
    extractor = extractor.to(device)
    if log is not None:
        log(weights_message(extractor.pretrained, weights))

    height, width = image.shape[:2]
    sizes = octave_sizes(height, width, octaves, octave_scale)
    if min(sizes[0]) < extractor.min_size:
        deepest = max(layers, key=LAYER_NAMES.index)
        raise ValueError(
            f"deep_dream: the smallest octave would be {sizes[0][0]}x{sizes[0][1]} pixels "
            f"({height}x{width} / {octave_scale}^{octaves - 1}), below the minimum of {extractor.min_size} "
            f"pixels per side for layers up to {deepest}; use fewer octaves, a smaller octave_scale "
            f"or a larger image")

    original = image_to_tensor(image, device)
    result = DreamResult(image=None, pretrained=extractor.pretrained)
    detail = None
    for octave, size in enumerate(sizes, start=1):
        with no_grad():
            base = original if size == (height, width) else F.interpolate(
                original, size=size, mode="bilinear", align_corners=False)
            if detail is None:
                x = base.clone()
            else:
                x = base + F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        x.requires_grad_(True)
        xp = get_array_module(x.data)
        for step in range(1, steps + 1):
            dy, dx = jitter_rng.randint(-jitter, jitter), jitter_rng.randint(-jitter, jitter)
            x.data = xp.roll(x.data, (dy, dx), axis=(2, 3))
            value = dream_objective(extractor(x), objective)
            x.grad = None
            value.backward()
            with no_grad():
                g = x.grad.data
                x.data += (lr / (float(xp.abs(g).mean()) + 1e-12)) * g   # ascent, normalised step
                x.data = xp.roll(x.data, (-dy, -dx), axis=(2, 3))
                x.data[...] = x.data.clip(0.0, 1.0)
            entry = {"octave": octave, "step": step, "size": size, "objective": value.item()}
            result.history.append(entry)
            if callback is not None:
                callback(entry, x)
        x.grad = None
        with no_grad():
            detail = x.detach() - base
    result.image = tensor_to_image(x)
    return result
