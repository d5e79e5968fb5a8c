"""The layers of ``minicnn.nn``: modules that own parameters and call ``minicnn.nn.functional``."""
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, Maxout, ReLU, Sigmoid, Softmax, Tanh
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .misc import Flatten, Identity, Upsample
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
