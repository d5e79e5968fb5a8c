"""VGG (Simonyan and Zisserman, 2014): depth from stacked 3x3 convolutions.

VGG uses one kind of layer only: 3x3 convolutions with padding 1, in stages
separated by 2x2 max pooling, doubling the channels after each pooling
(64-128-256-512-512).  Two stacked 3x3 convolutions see a 5x5 window and
three see 7x7, with fewer weights than one large kernel (3 * 9 C^2 = 27 C^2
against 49 C^2 for 7x7) and a ReLU between each: more non-linearity for
fewer parameters.  After VGG almost every CNN uses mostly 3x3 filters.

The four depths differ only in how many convolutions each stage stacks, so
one builder reads a configuration table (numbers: output channels of a 3x3
conv, "M": max pooling).  The ``_bn`` variants put batch norm after every
convolution (not in the paper; torchvision's, and they train far more easily).

Keys and shapes are torchvision's: ``features.N``, ``avgpool`` (adaptive, to
7x7), ``classifier.0 .3 .6``.  VGG-16 has 138,357,544 parameters, 102,764,544
of them in ``classifier.0`` (25088 x 4096).  Thanks to the adaptive pooling
any input of at least 32x32 works (five halvings leave 1x1, which the
pooling repeats to 7x7): small inputs make cheap experiments.
"""
from __future__ import annotations

from .. import nn
from ..nn import init
from ._checks import check_image_batch, check_min_size

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_features(config, in_channels=3, batch_norm=False):
    """The convolutional part from a config list: 3x3 conv (+ BN) + ReLU per number, max pool per "M"."""
    layers = []
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, item, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item))
        layers.append(nn.ReLU())
        in_channels = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network: ``features`` (from a config), ``avgpool`` to 7x7, a 3-layer ``classifier``.

    x: (N, in_channels, H, W), H, W >= 32 (canonical 224) -> logits (N, num_classes).
    """

    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        first_conv = next(m for m in features if isinstance(m, nn.Conv2d))
        self.in_channels = first_conv.in_channels
        self.min_size = 2 ** sum(isinstance(m, nn.MaxPool2d) for m in features)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        self._init_weights()

    def _init_weights(self):
        """torchvision's: He normal (fan_out) convolutions, N(0, 0.01) linear layers, zero biases."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                init.normal_(module.weight, 0, 0.01)
                init.zeros_(module.bias)

    def forward(self, x):
        check_image_batch("VGG", x, self.in_channels)
        check_min_size("VGG", x, self.min_size, f"{self.min_size.bit_length() - 1} 2x2 max poolings halve it")
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def vgg(depth, batch_norm=False, num_classes=1000, in_channels=3, dropout=0.5):
    """VGG-``depth`` (11, 13, 16 or 19 weight layers), with batch norm when ``batch_norm``."""
    if depth not in CONFIGS:
        raise ValueError(f"vgg: depth must be one of {sorted(CONFIGS)}, got {depth}")
    return VGG(make_features(CONFIGS[depth], in_channels, batch_norm), num_classes, dropout)


def vgg11(num_classes=1000, in_channels=3, dropout=0.5):
    """VGG-11 (configuration A): 132,863,336 parameters."""
    return vgg(11, False, num_classes, in_channels, dropout)


def vgg11_bn(num_classes=1000, in_channels=3, dropout=0.5):
    return vgg(11, True, num_classes, in_channels, dropout)


def vgg13(num_classes=1000, in_channels=3, dropout=0.5):
    """VGG-13 (configuration B): 133,047,848 parameters."""
    return vgg(13, False, num_classes, in_channels, dropout)


def vgg13_bn(num_classes=1000, in_channels=3, dropout=0.5):
    return vgg(13, True, num_classes, in_channels, dropout)


def vgg16(num_classes=1000, in_channels=3, dropout=0.5):
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return vgg(16, False, num_classes, in_channels, dropout)


def vgg16_bn(num_classes=1000, in_channels=3, dropout=0.5):
    return vgg(16, True, num_classes, in_channels, dropout)


def vgg19(num_classes=1000, in_channels=3, dropout=0.5):
    """VGG-19 (configuration E): 143,667,240 parameters."""
    return vgg(19, False, num_classes, in_channels, dropout)


def vgg19_bn(num_classes=1000, in_channels=3, dropout=0.5):
    return vgg(19, True, num_classes, in_channels, dropout)
