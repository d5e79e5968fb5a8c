"""GoogLeNet / Inception v1 (Szegedy et al., 2014): wide blocks, 1x1 reductions, auxiliary losses.

ILSVRC 2014 winner (6.7% top-5 error) with 22 layers but only 6.6 M
parameters, a tenth of AlexNet's.  Its ideas:

* **The Inception block** runs filters of several sizes side by side on the
  same input (1x1, 3x3, 5x5 and a 3x3 max pooling) and concatenates their
  outputs along the channels: the network picks the scale it needs.
* **1x1 convolutions** ("network in network") as cheap channel reductions
  before the expensive 3x3/5x5 filters and after the pooling branch.  A 1x1
  convolution is a linear map applied at every pixel: in 4a, reducing 480
  channels to 16 before the 5x5 costs 480*16 + 16*5*5*48 = 26,880 weights
  instead of 480*5*5*48 = 576,000.
* **Auxiliary classifiers** on the outputs of 4a and 4d: small heads whose
  losses are added (weight 0.3 each) to the main loss during training, so
  that the middle of the deep network gets a gradient directly.  They are
  discarded at inference.
* Global average pooling before a single ``fc`` (no huge fully connected layers).

Training with the auxiliary heads::

    model = googlenet(num_classes=10)            # aux_logits=True by default
    out = model(x)                               # training mode: GoogLeNetOutputs(logits, aux2, aux1)
    loss = googlenet_loss(out, target)           # CE(logits) + 0.3 * (CE(aux1) + CE(aux2))
    model.eval(); logits = model(x)              # evaluation: just the logits tensor

Compatibility: keys and shapes are torchvision's (``conv1.conv``,
``conv1.bn``, ``inception3a.branch1.conv``, ``inception3a.branch2.0.conv``,
..., ``aux1.conv.conv``, ``aux1.fc1``, ``aux1.fc2``, ``fc``); every
convolution is a ``BasicConv2d`` (conv without bias, batch norm with eps
0.001, ReLU).  torchvision's "5x5" branch actually uses 3x3 kernels (a
known slip kept for its pretrained weights); we do the same so those weights
load and the published 6,624,904 parameters hold.  ``paper_5x5=True`` builds
the paper's real 5x5 kernels instead (torchvision weights no longer fit).
"""
from __future__ import annotations

from collections import namedtuple

from .. import nn, ops
from ..nn import functional as F
from ..nn import init
from ._checks import check_image_batch

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "What GoogLeNet returns in training mode with auxiliary heads (torchvision's order)."

AUX_WEIGHT = 0.3


class BasicConv2d(nn.Module):
    """conv (no bias) -> batch norm (eps 0.001) -> ReLU: every convolution of GoogLeNet."""

    def __init__(self, in_channels, out_channels, **conv_kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated along the channels (the spatial size is kept):

        branch1: 1x1                                  -> ch1x1
        branch2: 1x1 reduce to ch3x3red -> 3x3        -> ch3x3
        branch3: 1x1 reduce to ch5x5red -> 5x5 (*)    -> ch5x5
        branch4: 3x3 max pool (stride 1) -> 1x1       -> pool_proj

    x: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    (*) 3x3 as in torchvision unless ``kernel5=5``.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, kernel5=3):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=kernel5, padding=kernel5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return ops.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pooling, 1x1 conv to 128, fc 2048 -> 1024, dropout 0.7, fc.

    x: (N, in_channels, H, W) (14x14 at a 224 input) -> logits (N, num_classes).
    """

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) of each Inception block, Table 1 of the paper
INCEPTION_CONFIG = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """Inception v1.  x: (N, in_channels, H, W) (canonical 224x224) -> logits (N, num_classes),
    or ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` in training mode with ``aux_logits``.

    Stem: conv 7x7/2 -> max pool 3x3/2 -> conv 1x1 -> conv 3x3 -> max pool 3x3/2 (224 -> 28),
    then Inception 3a 3b, pool, 4a-4e, pool, 5a 5b (7x7x1024), global average pooling,
    dropout 0.2, ``fc``.
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=True, dropout=0.2, dropout_aux=0.7,
                 paper_5x5=False):
        super().__init__()
        self.in_channels = in_channels
        self.aux_logits = aux_logits
        kernel5 = 5 if paper_5x5 else 3
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*INCEPTION_CONFIG["3a"], kernel5=kernel5)
        self.inception3b = Inception(*INCEPTION_CONFIG["3b"], kernel5=kernel5)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*INCEPTION_CONFIG["4a"], kernel5=kernel5)
        self.inception4b = Inception(*INCEPTION_CONFIG["4b"], kernel5=kernel5)
        self.inception4c = Inception(*INCEPTION_CONFIG["4c"], kernel5=kernel5)
        self.inception4d = Inception(*INCEPTION_CONFIG["4d"], kernel5=kernel5)
        self.inception4e = Inception(*INCEPTION_CONFIG["4e"], kernel5=kernel5)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTION_CONFIG["5a"], kernel5=kernel5)
        self.inception5b = Inception(*INCEPTION_CONFIG["5b"], kernel5=kernel5)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout_aux)   # on 4a's output
            self.aux2 = InceptionAux(528, num_classes, dropout_aux)   # on 4d's output
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        self._init_weights()

    def _init_weights(self):
        """torchvision's: N(0, 0.01) for convolutions and linear layers (its truncation at +-2 never
        bites at this scale), zero linear biases; batch norm keeps scale 1, shift 0."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init.normal_(module.weight, 0, 0.01)
            if isinstance(module, nn.Linear):
                init.zeros_(module.bias)

    def forward(self, x):
        check_image_batch("GoogLeNet", x, self.in_channels)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        with_aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.avgpool(x).flatten(1)
        logits = self.fc(self.dropout(x))
        if with_aux:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits


def googlenet_loss(output, target, aux_weight=AUX_WEIGHT, **cross_entropy_kwargs):
    """Cross-entropy of GoogLeNet's output, adding the auxiliary heads' losses in training:

        loss = CE(logits) + aux_weight * (CE(aux_logits1) + CE(aux_logits2))     (aux_weight 0.3)

    ``output`` is what the model returned: a ``GoogLeNetOutputs`` in training
    mode, or a logits tensor (evaluation, or ``aux_logits=False``), in which
    case this is plain cross-entropy.
    """
    if not isinstance(output, GoogLeNetOutputs):
        return F.cross_entropy(output, target, **cross_entropy_kwargs)
    loss = F.cross_entropy(output.logits, target, **cross_entropy_kwargs)
    aux = F.cross_entropy(output.aux_logits1, target, **cross_entropy_kwargs)
    aux = aux + F.cross_entropy(output.aux_logits2, target, **cross_entropy_kwargs)
    return loss + aux_weight * aux


def googlenet(num_classes=1000, in_channels=3, aux_logits=True, **kwargs):
    """GoogLeNet (Inception v1, torchvision's keys): 6,624,904 parameters without the auxiliary
    heads (``aux_logits=False``), 13,004,888 with them (1000 classes)."""
    return GoogLeNet(num_classes, in_channels, aux_logits, **kwargs)
