"""The model zoo: the networks the CNN literature is built on, as readable code.

    from minicnn import models
    net = models.get_model("resnet20", num_classes=10)
    models.list_models()          # every name get_model accepts

| family      | builders                                                  | file           |
|-------------|-----------------------------------------------------------|----------------|
| LeNet-5     | ``lenet5``                                                | lenet.py       |
| AlexNet     | ``alexnet``                                               | alexnet.py     |
| VGG         | ``vgg11 vgg13 vgg16 vgg19`` and ``vgg11_bn`` ... ``vgg19_bn`` | vgg.py     |
| ResNet      | ``resnet18 resnet34 resnet50`` (ImageNet), ``resnet20 resnet32 resnet56`` (CIFAR) | resnet.py |
| GoogLeNet   | ``googlenet`` (+ ``googlenet_loss`` for the auxiliary heads) | googlenet.py |
| autoencoder | ``ConvAutoencoder``, ``UpsampleAutoencoder``              | autoencoder.py |
| sequences   | ``SequenceCNN`` / ``conv1d_classifier``                   | sequence.py    |

AlexNet, VGG, ResNet-18/34/50 and GoogLeNet have torchvision's state-dict
keys and shapes: ``load_weights`` (weights.py) loads converted torchvision
weights, ``python -m minicnn.models.convert in.pth out.npz`` converts them
once.  transfer.py holds the transfer-learning helpers (``freeze``,
``replace_head``, ``param_groups``, ``extract_features``).  See docs/models.md.
"""
from __future__ import annotations

from .alexnet import AlexNet, alexnet
from .autoencoder import ConvAutoencoder, UpsampleAutoencoder
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet, googlenet_loss
from .lenet import LeNet5, lenet5
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    cifar_resnet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet50,
    resnet56,
)
from .sequence import SequenceCNN, conv1d_classifier
from .transfer import extract_features, freeze, param_groups, replace_head, unfreeze
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from .weights import WeightsError, load_weights

__all__ = [
    "AlexNet", "BasicBlock", "Bottleneck", "ConvAutoencoder", "GoogLeNet", "GoogLeNetOutputs", "LeNet5", "ResNet",
    "SequenceCNN", "UpsampleAutoencoder", "VGG", "WeightsError",
    "alexnet", "cifar_resnet", "conv1d_classifier", "googlenet", "googlenet_loss", "lenet5",
    "resnet18", "resnet20", "resnet32", "resnet34", "resnet50", "resnet56",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "extract_features", "freeze", "param_groups", "replace_head", "unfreeze", "load_weights",
    "get_model", "list_models", "model_builder",
]

_MODELS = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg11": vgg11, "vgg11_bn": vgg11_bn,
    "vgg13": vgg13, "vgg13_bn": vgg13_bn,
    "vgg16": vgg16, "vgg16_bn": vgg16_bn,
    "vgg19": vgg19, "vgg19_bn": vgg19_bn,
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
    "resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56,
    "googlenet": googlenet,
    "conv_autoencoder": ConvAutoencoder,
    "upsample_autoencoder": UpsampleAutoencoder,
    "sequence_cnn": conv1d_classifier,
    "conv1d_classifier": conv1d_classifier,
}


def list_models():
    """The names ``get_model`` accepts, sorted."""
    return sorted(_MODELS)


def model_builder(name):
    """The function that builds model ``name`` (to inspect which arguments it takes)."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    return _MODELS[key]


def get_model(name, **kwargs):
    """Build the model called ``name`` (see ``list_models()``, case-insensitive) with ``kwargs``
    such as ``num_classes`` and ``in_channels``."""
    return model_builder(name)(**kwargs)
