"""Neural-network building blocks: ``Module``, containers, layers, ``init``, ``functional``.

    from minicnn import nn
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
"""
from . import functional, init
from .parameter import Parameter
from .module import Module
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (
    ELU,
    GELU,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose2d,
    CrossEntropyLoss,
    Dropout,
    Dropout2d,
    Flatten,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Maxout,
    MaxPool2d,
    MSELoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    Upsample,
)
from . import utils  # noqa: E402,F401  (clip_grad_norm_, clip_grad_value_)
