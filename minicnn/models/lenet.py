"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998): the original CNN.

Seven layers: two convolutions, each followed by a subsampling (pooling)
layer, then three fully connected layers::

    input 1x32x32
    C1  conv 6 @ 5x5        -> 6x28x28       156 params  (6 * 5*5*1 + 6)
    S2  subsample 2x2       -> 6x14x14
    C3  conv 16 @ 5x5       -> 16x10x10    2,416 params  (16 * 5*5*6 + 16)
    S4  subsample 2x2       -> 16x5x5
    F5  fc 400 -> 120                     48,120 params
    F6  fc 120 -> 84                      10,164 params
    F7  fc 84 -> 10                          850 params
                                          ------
                                          61,706 parameters

Choices, since the 1998 network is not reproduced exactly:

* activation: ``tanh`` (the paper's squashing function was a scaled tanh),
  ``activation="relu"`` for the modern variant;
* subsampling: 2x2 average pooling (the paper's S2/S4 averaged four inputs,
  then multiplied by a trained coefficient and added a trained bias: we leave
  those 2 x (6 + 16) numbers out, as every modern re-implementation does),
  ``pooling="max"`` for the modern variant;
* C3 connects to all six S2 maps (the paper's sparse connection table is left
  out), and F7 is a plain linear layer instead of the paper's RBF units.

The network is built for 32x32 inputs.  MNIST digits are 28x28: pass
``padding=2`` so the first convolution pads them to 32x32 (the paper itself
padded the digits).  Any other size would change the 16x5x5 = 400 features
that F5 expects, so ``forward`` refuses it with a message.
"""
from __future__ import annotations

from .. import nn
from ._checks import check_image_batch

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_POOLINGS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Module):
    """LeNet-5.  x: (N, in_channels, 32 - 2*padding, 32 - 2*padding) -> logits (N, num_classes).

    ``features`` holds C1-S4 (the convolutional base), ``classifier`` holds
    F5-F7 (``classifier[4]`` is the output layer).
    """

    def __init__(self, num_classes=10, in_channels=1, padding=0, activation="tanh", pooling="avg"):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"LeNet5: activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if pooling not in _POOLINGS:
            raise ValueError(f"LeNet5: pooling must be one of {sorted(_POOLINGS)}, got {pooling!r}")
        act, pool = _ACTIVATIONS[activation], _POOLINGS[pooling]
        self.in_channels = in_channels
        self.padding = padding
        self.input_size = 32 - 2 * padding
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=padding), act(), pool(2),   # C1, S2
            nn.Conv2d(6, 16, 5), act(), pool(2),                             # C3, S4
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), act(),                               # F5
            nn.Linear(120, 84), act(),                                       # F6
            nn.Linear(84, num_classes),                                      # F7
        )

    def forward(self, x):
        check_image_batch("LeNet5", x, self.in_channels)
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(
                f"LeNet5: expects {self.input_size}x{self.input_size} inputs (padding={self.padding} in the "
                f"first conv), got {x.shape[-2]}x{x.shape[-1]} (input shape {tuple(x.shape)}); LeNet-5 takes "
                "32x32 images, or 28x28 ones with padding=2: lenet5(padding=2)"
            )
        x = self.features(x)
        return self.classifier(x.flatten(1))


def lenet5(num_classes=10, in_channels=1, padding=0, activation="tanh", pooling="avg"):
    """LeNet-5 for 32x32 inputs, or 28x28 with ``padding=2``; 61,706 parameters for 10 classes."""
    return LeNet5(num_classes, in_channels, padding, activation, pooling)
