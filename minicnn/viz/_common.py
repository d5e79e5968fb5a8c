"""What every visualisation needs: a model put in evaluation mode without
changing it, layers found by name, images checked against what the model takes,
class indices checked against its outputs, and a forward pass that stops at a
layer.

Nothing here draws; ``plotting.py`` does that.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .. import backend, nn
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor


# ------------------------------------------------------------ the model, untouched
@contextmanager
def inspecting(model):
    """Evaluation mode and frozen parameters for the duration of the block.

    Dropout is off and batch norm uses its running statistics (``eval()``);
    every parameter has ``requires_grad=False``, so a backward pass computes
    gradients for the input (or a layer's output) only and never writes
    ``.grad`` on a parameter.  The training flags of every module and the
    ``requires_grad`` flag of every parameter are restored afterwards, also
    when the block raises.
    """
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    model.eval()
    for param, _ in flags:
        param.requires_grad = False
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training
        for param, flag in flags:
            param.requires_grad = flag


def model_device_and_dtype(model):
    """The device and floating dtype of the model's first parameter (CPU, float32 without one)."""
    for param in model.parameters():
        return param.device, param.dtype
    return backend.CPU, backend.get_default_dtype()


# ------------------------------------------------------------ layers by name
def find_layer(model, name, op):
    """The sub-module called ``name`` in ``model.named_modules()``; a clear error otherwise."""
    layers = dict(model.named_modules())
    if not isinstance(name, str) or name not in layers or name == "":
        valid = ", ".join(n for n in layers if n) or "(the model has no sub-modules)"
        raise ValueError(f"{op}: the model has no layer named {name!r}; valid layer names: {valid}")
    return layers[name]


def layer_names(model, kind):
    """Names of the sub-modules that are instances of ``kind``, in forward (registration) order."""
    return [name for name, module in model.named_modules() if name and isinstance(module, kind)]


def first_layer(model, kind):
    """``(name, module)`` of the first sub-module that is a ``kind`` (``(None, None)`` without one)."""
    for name, module in model.named_modules():
        if isinstance(module, kind):
            return name, module
    return None, None


class _Reached(Exception):
    """Raised by the hook of ``run_to`` to stop the forward pass, carrying what it caught."""

    def __init__(self, value):
        super().__init__("forward pass stopped at the requested layer")
        self.value = value


def run_to(model, x, layer, *, before=False):
    """The output of ``layer`` (its first input with ``before=True``) when ``model(x)`` runs.

    The forward pass stops right there, so the layers after it cost nothing.
    A layer called several times in one forward pass gives its first call.
    """
    def stop_before(module, args):
        raise _Reached(args[0])

    def stop_after(module, args, output):
        raise _Reached(output)

    handle = layer.register_forward_pre_hook(stop_before) if before else layer.register_forward_hook(stop_after)
    try:
        model(x)
    except _Reached as reached:
        return reached.value
    finally:
        handle.remove()
    raise RuntimeError(f"the forward pass of {type(model).__name__} never called the layer {type(layer).__name__}")


# ------------------------------------------------------------ images that fit
def expected_input_shape(model):
    """``(C, H, W)`` of the images ``model`` takes; None for what the model leaves free.

    C is the ``in_channels`` of the first convolution.  H and W come from the
    model's ``input_size`` attribute when it declares one (LeNet-5 does), or
    else, when a fully connected layer fixes the size, from the square size
    whose flattened features match that layer's ``in_features`` (each probe a
    forward pass stopped at the layer).  A fully convolutional model (global
    pooling before its classifier) takes any size: H = W = None.
    """
    _, conv = first_layer(model, nn.Conv2d)
    channels = conv.in_channels if conv is not None else None
    size = _expected_size(model, channels)
    return (channels, *size) if size is not None else (channels, None, None)


def _declared_size(model):
    """The model's ``input_size`` attribute as ``(H, W)``, or None."""
    size = getattr(model, "input_size", None)
    if size is None:
        return None
    return (size, size) if isinstance(size, int) else tuple(size)


def _expected_size(model, channels):
    """``(H, W)`` that the model takes with ``channels`` input channels, or None when free or unknown."""
    declared = _declared_size(model)
    if declared is not None:
        return declared
    _, linear = first_layer(model, nn.Linear)
    if linear is None or channels is None:
        return None
    size = _size_that_fits(model, channels, linear)
    return (size, size) if size is not None else None


def _features(model, x, linear):
    """``(count, None)``: the features ``x`` brings to ``linear``; ``(None, error)`` when the
    forward pass fails before reaching it (an image too small for a convolution or pooling)."""
    try:
        with inspecting(model), no_grad():
            return int(run_to(model, x, linear, before=True).shape[-1]), None
    except (ValueError, RuntimeError, IndexError) as error:
        return None, error


def _features_at(model, channels, size, linear):
    """The number of features a blank (1, channels, size, size) image brings to ``linear`` (0: none)."""
    device, dtype = model_device_and_dtype(model)
    x = Tensor(backend.array_module(device).zeros((1, channels, size, size), dtype=dtype))
    count, _ = _features(model, x, linear)
    return count or 0


def _size_that_fits(model, channels, linear, largest=1024):
    """The square size whose features match ``linear.in_features``, or None.

    The feature count grows with the size: doubling from 8 brackets the
    smallest size giving at least ``in_features`` features (so no probe is
    much larger than the answer), bisection finds it, and it fits when equal.
    """
    wanted = linear.in_features
    high = 8
    while _features_at(model, channels, high, linear) < wanted:
        if high >= largest:
            return None
        high *= 2
    low = high // 2 + 1 if high > 8 else 1
    while low < high:
        middle = (low + high) // 2
        if _features_at(model, channels, middle, linear) >= wanted:
            high = middle
        else:
            low = middle + 1
    return high if _features_at(model, channels, high, linear) == wanted else None


def prepare_image(model, image, op, *, batch=False):
    """``image`` as a new (N, C, H, W) tensor on the model's device and dtype, checked to fit.

    ``image``: a Tensor or array, (C, H, W) or (N, C, H, W); N must be 1
    unless ``batch``.  The result is always a fresh leaf (the caller may set
    ``requires_grad`` on it without touching ``image``).  The channel count is
    checked against the first convolution; the size against the first fully
    connected layer, by running the model up to it.
    """
    data = image.data if isinstance(image, Tensor) else image if backend.is_gpu_array(image) else np.asarray(image)
    if data.ndim == 3:
        data = data[None]
    if data.ndim != 4 or (not batch and data.shape[0] != 1):
        wanted = "an image (C, H, W) or a batch (N, C, H, W)" if batch else "one image (C, H, W) or (1, C, H, W)"
        raise ValueError(f"{op}: expected {wanted}, got shape {tuple(data.shape)}")
    device, dtype = model_device_and_dtype(model)
    x = Tensor(backend.to_device(data, device).astype(dtype, copy=True))
    _check_fits(model, x, op)
    return x


def _check_fits(model, x, op):
    """Raise a ValueError that says what the model expects when ``x`` does not fit it."""
    conv_name, conv = first_layer(model, nn.Conv2d)
    channels = x.shape[1]
    if conv is not None and channels != conv.in_channels:
        raise ValueError(
            f"{op}: the image has {channels} channel(s) (shape {tuple(x.shape)}), but the model expects "
            f"{conv.in_channels} (its first convolution {conv_name!r} is {conv!r})"
        )
    linear_name, linear = first_layer(model, nn.Linear)
    declared = _declared_size(model)
    if declared is not None:
        fits = tuple(x.shape[2:]) == declared
    elif linear is not None:
        features, cause = _features(model, x[:1], linear)
        fits = features == linear.in_features
    else:
        return  # a fully convolutional model takes any size that survives its downsampling
    if fits:
        return
    size = _expected_size(model, channels)
    if size is not None:
        expected = f"images of shape ({channels}, {size[0]}, {size[1]})"
    else:
        brings = f"{features}" if features is not None else f"none: {cause}"
        expected = (f"images that bring {linear.in_features} features to its layer {linear_name!r} "
                    f"(this one brings {brings})")
    raise ValueError(f"{op}: the model does not take an image of shape {tuple(x.shape[1:])}; it expects {expected}")


def choose_class(logits, target, op):
    """``target`` checked against the number of classes, or the predicted class when None."""
    if target is None:
        return int(backend.to_numpy(logits.data[0]).argmax())
    count = logits.shape[1]
    return check_index(target, count, "class", f"the model has {count} classes", op)


def check_index(index, count, what, owner, op):
    """An index in ``range(count)``, or a ValueError such as "class index 10 is out of
    range: the model has 10 classes (0..9)" (``owner`` says who has how many)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < count:
        raise ValueError(f"{op}: {what} index {index!r} is out of range: {owner} (0..{count - 1})")
    return int(index)


def to_numpy(array):
    """A NumPy copy of an array or Tensor (from any device)."""
    data = array.data if isinstance(array, Tensor) else array
    return np.array(backend.to_numpy(data), copy=True)
