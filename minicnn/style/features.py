"""A frozen VGG-19 that returns its activations by layer name.

Style transfer and DeepDream optimise an *image* through a network whose
weights never change.  The network is the convolutional part of VGG-19
(Simonyan & Zisserman, 2014), in torchvision's layout, so that weights
converted from ``torchvision.models.vgg19`` load by name (``features.N.weight``)::

    block 1: conv1_1 conv1_2                   pool     features.0  .2          .4
    block 2: conv2_1 conv2_2                   pool     features.5  .7          .9
    block 3: conv3_1 conv3_2 conv3_3 conv3_4   pool     features.10 .12 .14 .16 .18
    block 4: conv4_1 conv4_2 conv4_3 conv4_4   pool     features.19 .21 .23 .25 .27
    block 5: conv5_1 conv5_2 conv5_3 conv5_4   pool     features.28 .30 .32 .34 .36

Every conv is 3x3, stride 1, padding 1, followed by a ReLU (``features.N+1``);
every pool is a 2x2 max pool with stride 2.  The activation called
``convX_Y`` here is the output of that conv's ReLU, as in Gatys et al. (whose
Caffe ReLUs work in place, so "conv4_2" and "relu4_2" are the same array).

``VGGFeatures(layers)`` keeps only the modules up to the deepest requested
layer (conv5_1 needs 30 of VGG-19's 37 feature modules, conv4_2 needs 23),
normalises its input with the ImageNet mean and standard deviation, and is
frozen: ``requires_grad_(False)`` on every parameter, so backward computes the
gradient with respect to the image only (no weight gradients are formed),
and ``eval()`` mode.

Weights: ``weights=PATH`` loads VGG-19 ImageNet weights converted from
torchvision (a ``.npz`` written by ``python -m minicnn.models.convert``, a
plain ``.npz`` of named arrays, or a ``.pth`` when PyTorch is importable).
Without a path the network keeps random weights, drawn as torchvision
initialises an untrained VGG-19 (Kaiming normal, fan-out, zero bias).  Random
conv features still respond to colour and local texture, so style transfer
still moves colours and textures, but they know nothing of objects: see
``docs/style_transfer.md``.  ``VGGFeatures.pretrained`` says which one is in use.
"""
from __future__ import annotations

import os

from .. import nn
from ..models.vgg import CONFIGS, make_features
from ..models.weights import WeightsError, check_weights, read_weights

__all__ = ["VGGFeatures", "LAYER_NAMES", "CONV_INDEX", "IMAGENET_MEAN", "IMAGENET_STD", "vgg19_features",
           "load_vgg19_state_dict", "check_layers", "min_input_size", "WeightsError"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv_indices(config):
    """{'conv1_1': 0, 'conv1_2': 2, 'conv2_1': 5, ...}: each conv's index in ``features``."""
    names, index, block, position = {}, 0, 1, 1
    for entry in config:
        if entry == "M":
            index += 1
            block, position = block + 1, 1
        else:
            names[f"conv{block}_{position}"] = index
            index += 2  # the conv and its ReLU
            position += 1
    return names


CONV_INDEX = _conv_indices(CONFIGS[19])    # conv name -> index of the conv in VGG-19's ``features``
LAYER_NAMES = tuple(CONV_INDEX)            # conv1_1 ... conv5_4, in network order


def check_layers(layers):
    """The layer names as a tuple, or a ValueError listing the valid ones."""
    if isinstance(layers, str):
        layers = [name.strip() for name in layers.split(",") if name.strip()]
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"no layer given; choose from {', '.join(LAYER_NAMES)}")
    unknown = [name for name in layers if name not in CONV_INDEX]
    if unknown:
        raise ValueError(f"unknown VGG-19 layer name(s) {', '.join(map(repr, unknown))}; "
                         f"valid names: {', '.join(LAYER_NAMES)}")
    return layers


def min_input_size(layers):
    """The smallest image side for which every layer in ``layers`` is at least 1x1.

    convX_Y sits after X-1 max pools of stride 2, each of which floors the
    size: a side of n pixels becomes floor(n / 2).  So the deepest layer
    needs n >= 2^(X-1): 1 for conv1_*, 16 for conv5_*.
    """
    deepest_block = max(int(name[4]) for name in check_layers(layers))
    return 2 ** (deepest_block - 1)


# ---------------------------------------------------------------- the network
class _VGG19Convs(nn.Module):
    """VGG-19 without its classifier: only ``features``, so the state-dict keys are
    torchvision's ``features.N.weight`` / ``features.N.bias``."""

    def __init__(self):
        super().__init__()
        self.features = make_features(CONFIGS[19])   # minicnn.models' VGG-19 layout
        for module in self.features:                 # torchvision's VGG initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)


def vgg19_features(weights=None):
    """VGG-19's ``features`` (an nn.Sequential of 37 modules) and whether it is pretrained.

    With ``weights`` (a path) the convs get those weights (``load_vgg19_state_dict``);
    without, random weights as torchvision draws them for an untrained VGG-19:
    W ~ N(0, 2 / (out_channels * 3 * 3)) (Kaiming normal, fan-out), b = 0.
    The classifier is never built (it is not used, and its 120M weights would
    cost seconds to draw).  Returns ``(features, pretrained)``.
    """
    convs = _VGG19Convs()
    if weights is None:
        return convs.features, False
    convs.load_state_dict(load_vgg19_state_dict(weights, convs))
    return convs.features, True


def load_vgg19_state_dict(path, convs=None):
    """The VGG-19 conv weights in ``path`` as {'features.N.weight': array, ...}.

    ``path``: anything ``minicnn.models.load_weights`` reads (the converter's
    .npz, a plain .npz of named arrays, a .pth when PyTorch is importable).
    The file must hold every conv of VGG-19 with its torchvision name and
    shape; ``classifier.*`` entries, if present, are ignored (only the convs
    are used).  Anything else raises ``WeightsError`` listing the keys that do
    not match, so a VGG-16, a ResNet or a truncated file is refused instead
    of half-loaded.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights file not found: {path!r}")
    state = read_weights(path)
    state = {key: value for key, value in state.items() if not key.startswith("classifier.")}
    try:
        check_weights(convs if convs is not None else _VGG19Convs(), state, strict=True)
    except WeightsError as error:
        raise WeightsError(f"{path!r} is not a VGG-19 weights file (torchvision layout): {error}") from None
    return state


# ---------------------------------------------------------------- the extractor
class VGGFeatures(nn.Module):
    """Frozen, truncated VGG-19: ``image (N, 3, H, W) in [0, 1] -> {layer: activation}``.

        extractor = VGGFeatures(["conv1_1", "conv4_2"])          # random weights
        acts = extractor(image)    # {'conv1_1': (N, 64, H, W), 'conv4_2': (N, 512, H/8, W/8)}

    The input is normalised channel-wise, x' = (x - mean) / std with
    ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), the
    statistics torchvision's weights were trained with.

    Args:
        layers: names from ``LAYER_NAMES`` (a list, or one comma-separated string).
        weights: path to converted VGG-19 weights, or None for random weights.
        features: an already built VGG-19 ``features`` Sequential to use instead
            (its weights are shared, not copied); ``pretrained`` then says
            whether those are real weights.
    """

    def __init__(self, layers, weights=None, features=None, pretrained=False):
        super().__init__()
        self.layers = check_layers(layers)
        if features is None:
            features, pretrained = vgg19_features(weights)
        self.pretrained = bool(pretrained)
        # Keep modules 0 .. the deepest requested layer's ReLU: nothing after it is computed.
        self._taps = {CONV_INDEX[name] + 1: name for name in self.layers}
        last = max(self._taps)
        self.features = nn.Sequential(*[features[i] for i in range(last + 1)])
        self.min_size = min_input_size(self.layers)
        self.register_buffer("mean", _channel_vector(IMAGENET_MEAN))
        self.register_buffer("std", _channel_vector(IMAGENET_STD))
        self.requires_grad_(False)
        self.eval()

    def forward(self, image):
        """image: (N, 3, H, W), values in [0, 1] -> {name: (N, C_l, H_l, W_l)}."""
        self.check_input(image)
        x = (image - self.mean) / self.std
        out = {}
        for index, module in enumerate(self.features):
            x = module(x)
            name = self._taps.get(index)
            if name is not None:
                out[name] = x
        return {name: out[name] for name in self.layers}

    def check_input(self, image):
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"VGGFeatures: expected an image batch of shape (N, 3, H, W), got {tuple(image.shape)}")
        height, width = image.shape[2], image.shape[3]
        if min(height, width) < self.min_size:
            deepest = max(self.layers, key=LAYER_NAMES.index)
            raise ValueError(
                f"VGGFeatures: image of {height}x{width} pixels is too small for layer {deepest}: "
                f"it sits after {int(deepest[4]) - 1} 2x2 max pools, so each side must be at least "
                f"{self.min_size} pixels")

    def extra_repr(self):
        return f"layers={list(self.layers)}, pretrained={self.pretrained}"


def _channel_vector(values):
    from ..backend import float32
    from ..factories import tensor

    return tensor(values, dtype=float32).reshape(1, 3, 1, 1)
