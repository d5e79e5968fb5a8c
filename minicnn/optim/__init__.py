"""Optimizers and learning-rate schedulers.

    from minicnn import optim
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)

Each optimizer file gives its update rule as math in the class docstring and
mirrors it line by line in ``_update`` (SGD and Adam: in the functions
``sgd_update``/``adam_update`` beside the class, which are registered kernels,
so that on the GPU one fused CUDA kernel per parameter runs instead,
``kernels/cuda_optim.py``); the shared machinery (parameter groups, state,
weight decay, ``maximize``, checkpoints) is in ``optimizer.py``.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS", "lr_scheduler"]
