"""The benchmark networks, written once for any PyTorch-style ``nn`` namespace.

minicnn's ``nn`` has PyTorch's names and semantics, so one builder such as
``vgg_cifar(nn)`` gives the same architecture in both frameworks: called with
``minicnn.nn`` it builds the minicnn model, called with ``torch.nn`` the
PyTorch one, and the benchmark compares like with like.  Where ``minicnn.models``
provides a network (``lenet5``, ``resnet20``), the minicnn side uses it, and
``parameter_count`` lets the report check that both sides have the same size.

    lenet5      1x28x28:  conv5x5-6, ReLU, maxpool, conv5x5-16, ReLU, maxpool,
                          fc 120, fc 84, fc 10                        (~62k weights)
    vgg_cifar   3x32x32:  [conv3x3-64, BN, ReLU] x2, maxpool, [128] x2, maxpool,
                          [256] x2, global average pool, fc 10        (~1.15M weights)
    resnet20    3x32x32:  He et al. (2016) CIFAR ResNet, 3 stages of 3 basic blocks
                          (16, 32, 64 channels), option-B 1x1 projection shortcuts
                                                                      (~0.27M weights)
"""
from __future__ import annotations


def lenet5(nn, num_classes=10):
    """LeNet-5 on 28x28 inputs (padding 2 on the first convolution, as for MNIST)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def vgg_cifar(nn, num_classes=10):
    """The issue's VGG-style CIFAR net: three stages of two 3x3 conv-BN-ReLU layers."""

    def stage(c_in, c_out):
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        ]

    return nn.Sequential(
        *stage(3, 64), nn.MaxPool2d(2),
        *stage(64, 128), nn.MaxPool2d(2),
        *stage(128, 256),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, num_classes),
    )


def resnet20(nn, num_classes=10):
    """ResNet-20 for CIFAR (3 x 3 basic blocks; 1x1 projection where the shape changes)."""

    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU()
            self.shortcut = nn.Sequential()
            if stride != 1 or c_in != c_out:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
                )

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            blocks, c_in = [], 16
            for c_out, stride in ((16, 1), (32, 2), (64, 2)):
                for i in range(3):
                    blocks.append(BasicBlock(c_in, c_out, stride if i == 0 else 1))
                    c_in = c_out
            self.blocks = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))

    return ResNet20()


# the arguments that make minicnn.models' networks the architectures above
MODEL_ARGUMENTS = {
    "lenet5": dict(padding=2, activation="relu", pooling="max"),
    "resnet20": dict(shortcut="projection"),
}

# name -> (builder, input shape (C, H, W), batch sizes the issue asks for)
NETWORKS = {
    "lenet5": (lenet5, (1, 28, 28), (64, 256)),
    "vgg_cifar": (vgg_cifar, (3, 32, 32), (128,)),
    "resnet20": (resnet20, (3, 32, 32), (128,)),
}


def minicnn_model(name):
    """The minicnn network ``name``: from ``minicnn.models`` when it has one, else built here.

    Returns ``(model, source)`` with ``source`` naming where it came from.
    """
    from .. import nn

    try:
        from .. import models

        factory = getattr(models, name)
    except (ImportError, AttributeError):
        return NETWORKS[name][0](nn), "minicnn.bench.models"
    return factory(num_classes=10, **MODEL_ARGUMENTS.get(name, {})), "minicnn.models"


def torch_model(name):
    """The same architecture in PyTorch."""
    import torch.nn

    return NETWORKS[name][0](torch.nn)


def parameter_count(model):
    return sum(int(p.numel()) if callable(getattr(p, "numel", None)) else int(p.size) for p in model.parameters())
