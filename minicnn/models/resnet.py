"""Residual networks (He, Zhang, Ren and Sun, 2015).

Very deep plain networks train worse than shallower ones: the gradient has to
cross every layer.  A residual block adds its input back to its output,

    out = relu(F(x) + x)

so each block only learns a correction ``F(x)`` to the identity, and the
gradient reaches early layers through the ``+ x`` path unchanged.  Where a
block halves the resolution (stride 2) and widens the channels, the skip
path must change shape too: a 1x1 convolution with stride 2 and batch norm
(option B, "projection", the ImageNet networks), or keeping every second
pixel and padding the new channels with zeros (option A, no parameters, the
CIFAR networks).

One ``ResNet`` class builds both families from a block type and the number
of blocks per stage:

* ImageNet form (``resnet18/34/50``): 7x7 stride-2 stem and 3x3 max pooling,
  four stages of widths 64-128-256-512 (x4 channels with bottleneck blocks),
  global average pooling and one ``fc``.  Keys and shapes are torchvision's
  (``conv1 bn1 layer1..layer4 fc``, ``downsample.0/1``), so its weights load.
* CIFAR form (``resnet20/32/56``, depth 6n + 2): 3x3 stem without pooling,
  three stages of n blocks with widths 16-32-64, option-A shortcuts, global
  average pooling and ``fc``: ResNet-20 has 0.27 M parameters.
"""
from __future__ import annotations

from .. import nn
from ..nn import functional as F
from ..nn import init
from ._checks import check_image_batch


def conv3x3(in_channels, out_channels, stride=1):
    """3x3 convolution with padding 1 (keeps the size at stride 1, halves it at stride 2); no bias,
    since batch norm follows and its shift makes a bias redundant."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    """1x1 convolution: mixes channels at each pixel (no bias, batch norm follows)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a skip connection (ResNet-18/34, all CIFAR ResNets).

        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    ``conv1`` carries the stride; ``downsample`` (None: identity) reshapes the
    skip path when the block changes resolution or width.
    """

    expansion = 1

    def __init__(self, in_channels, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), and a skip connection (ResNet-50 and deeper).

    The 1x1 convolutions make the expensive 3x3 run on ``planes`` channels
    instead of ``4 * planes``.  The stride sits on the 3x3 convolution
    (torchvision's "ResNet v1.5").
    """

    expansion = 4

    def __init__(self, in_channels, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class PadShortcut(nn.Module):
    """Option-A shortcut: subsample by ``stride`` and append zero channels; no parameters.

    x: (N, C, H, W) -> (N, C + extra_channels, ceil(H / stride), ceil(W / stride)),
    the extra channels split half before, half after the existing ones.
    """

    def __init__(self, stride, extra_channels):
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        before = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, before, self.extra_channels - before))

    def extra_repr(self):
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


class ResNet(nn.Module):
    """A residual network: stem, stages ``layer1..layerK`` of residual blocks, global pooling, ``fc``.

    block:    ``BasicBlock`` or ``Bottleneck``
    layers:   blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18, (3, 3, 3) for ResNet-20
    widths:   ``planes`` of each stage (a stage's output has ``planes * block.expansion`` channels);
              every stage after the first halves the resolution in its first block
    stem:     "imagenet" (7x7 stride 2 conv + 3x3 stride 2 max pool: 224 -> 56) or
              "cifar" (3x3 conv, no pooling: 32 -> 32)
    shortcut: "projection" (1x1 conv + BN, option B) or "zeros" (``PadShortcut``, option A)

    x: (N, in_channels, H, W) -> (N, num_classes); any H, W (global average pooling).
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, widths=(64, 128, 256, 512),
                 stem="imagenet", shortcut="projection", zero_init_residual=False):
        super().__init__()
        if len(layers) != len(widths):
            raise ValueError(f"ResNet: layers {tuple(layers)} and widths {tuple(widths)} must have the same length")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        if shortcut not in ("projection", "zeros"):
            raise ValueError(f"ResNet: shortcut must be 'projection' or 'zeros', got {shortcut!r}")
        self.in_channels = in_channels
        self.shortcut = shortcut
        self._planes_in = widths[0]  # channels entering the next block, updated by _make_layer
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()
        self.stage_names = []
        for i, (planes, blocks) in enumerate(zip(widths, layers)):
            name = f"layer{i + 1}"
            setattr(self, name, self._make_layer(block, planes, blocks, stride=1 if i == 0 else 2))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, block, planes, blocks, stride):
        """One stage: a first block that may change stride and width, then ``blocks - 1`` plain ones."""
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self._planes_in != out_channels:
            if self.shortcut == "projection":
                downsample = nn.Sequential(conv1x1(self._planes_in, out_channels, stride),
                                           nn.BatchNorm2d(out_channels))
            else:
                downsample = PadShortcut(stride, out_channels - self._planes_in)
        stage = [block(self._planes_in, planes, stride, downsample)]
        self._planes_in = out_channels
        stage += [block(out_channels, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual):
        """He (kaiming) normal init for convolutions, as torchvision and the paper; optionally
        start each residual branch at zero (its last BN scale = 0) so every block begins as
        the identity."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    init.zeros_(module.bn3.weight)
                elif isinstance(module, BasicBlock):
                    init.zeros_(module.bn2.weight)

    def forward(self, x):
        check_image_batch(type(self).__name__, x, self.in_channels)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def resnet18(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-18 (ImageNet form): 11,689,512 parameters for 1000 classes; torchvision's keys."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, **kwargs)


def resnet34(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-34 (ImageNet form): 21,797,672 parameters for 1000 classes; torchvision's keys."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, **kwargs)


def resnet50(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-50 (ImageNet form, bottleneck blocks): 25,557,032 parameters; torchvision's keys."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, **kwargs)


def cifar_resnet(depth, num_classes=10, in_channels=3, shortcut="zeros", **kwargs):
    """The CIFAR ResNet of depth 6n + 2: three stages of n basic blocks, widths 16-32-64."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"cifar_resnet: depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, (n, n, n), num_classes, in_channels, widths=(16, 32, 64), stem="cifar",
                  shortcut=shortcut, **kwargs)


def resnet20(num_classes=10, in_channels=3, **kwargs):
    """ResNet-20 for 32x32 images (CIFAR form): 0.27 M parameters."""
    return cifar_resnet(20, num_classes, in_channels, **kwargs)


def resnet32(num_classes=10, in_channels=3, **kwargs):
    """ResNet-32 for 32x32 images (CIFAR form): 0.46 M parameters."""
    return cifar_resnet(32, num_classes, in_channels, **kwargs)


def resnet56(num_classes=10, in_channels=3, **kwargs):
    """ResNet-56 for 32x32 images (CIFAR form): 0.85 M parameters."""
    return cifar_resnet(56, num_classes, in_channels, **kwargs)
