"""Input checks shared by the models: fail early with the size a model expects.

A network whose classifier is a stack of fully connected layers only accepts
the input size its ``Linear`` layers were built for; one with adaptive
pooling accepts any size that survives its downsampling.  These helpers turn
what would be a shape error deep inside the network into a message that says
which input the model wants.
"""
from __future__ import annotations


def check_image_batch(model_name, x, in_channels):
    """``x`` must be ``(N, in_channels, H, W)``."""
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f"{model_name}: expected input of shape (N, {in_channels}, H, W), got {tuple(x.shape)}"
        )


def check_min_size(model_name, x, min_size, why):
    """``H`` and ``W`` of ``x`` must be at least ``min_size``; ``why`` says what shrinks them."""
    height, width = x.shape[-2:]
    if height < min_size or width < min_size:
        raise ValueError(
            f"{model_name}: input is {height}x{width}, but this model needs at least "
            f"{min_size}x{min_size} ({why}); its canonical input is 224x224"
        )


def min_input_size(layers, final=1):
    """The smallest input side that leaves ``final`` pixels after ``layers``.

    ``layers`` lists ``(kernel, stride, padding)`` of every convolution and
    pooling in order.  Each layer maps n -> floor((n + 2p - k) / s) + 1, so
    going backwards the smallest input giving ``m`` outputs is
    (m - 1) s + k - 2p (and at least 1).
    """
    size = final
    for kernel, stride, padding in reversed(layers):
        size = max((size - 1) * stride + kernel - 2 * padding, 1)
    return size
