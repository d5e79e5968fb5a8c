"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012): the network that started deep learning.

It won ILSVRC 2012 by about 10 points of top-5 error.  Compared with LeNet-5
it is much deeper and wider (five convolutions, 61 M parameters, trained on
1.2 M images on two GPUs), and it introduced the training recipe that
followed it everywhere:

* **ReLU** instead of tanh/sigmoid: no saturation for positive inputs, so
  deep stacks train several times faster;
* **dropout** (p = 0.5) in the two big fully connected layers, against
  overfitting of their 54 M weights;
* data augmentation (random crops and flips), max pooling with overlapping
  windows (3x3, stride 2), SGD with momentum and weight decay.

This is torchvision's variant (the "one weird trick" single-GPU form, widths
64-192-384-256-256, no local response normalisation), with the same
state-dict keys (``features.0 .3 .6 .8 .10``, ``classifier.1 .4 .6``) so
its weights load.  ``avgpool`` (adaptive, to 6x6) lets inputs other than
224x224 reach the 9216 = 256 * 6 * 6 classifier inputs; inputs smaller than
63x63 vanish in the pooling layers and are refused with a message.
"""
from __future__ import annotations

from .. import nn
from ._checks import check_image_batch, check_min_size, min_input_size

# (kernel, stride, padding) of conv1, pool1, conv2, pool2, conv3-5, pool3
_DOWNSAMPLING = [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)]


class AlexNet(nn.Module):
    """AlexNet.  x: (N, in_channels, H, W), H, W >= 63 (canonical 224) -> logits (N, num_classes)."""

    min_size = min_input_size(_DOWNSAMPLING)  # 63

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        check_image_batch("AlexNet", x, self.in_channels)
        check_min_size("AlexNet", x, self.min_size, "three 3x3 stride-2 max poolings after an 11x11 stride-4 conv")
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def alexnet(num_classes=1000, in_channels=3, dropout=0.5):
    """AlexNet (torchvision's form): 61,100,840 parameters for 1000 classes."""
    return AlexNet(num_classes, in_channels, dropout)
