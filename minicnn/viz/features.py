"""Looking at what a network computes: feature maps, filters, and the input a filter likes best.

* ``activations``: the outputs of named layers for an input, caught by
  forward hooks (``module.register_forward_hook``) that are removed afterwards;
* ``plot_feature_maps``: those outputs as a grid of images per layer (the first
  layers act as edge detectors; deeper ones are sparser and more abstract);
* ``plot_filters``: the weights of a convolution as small images;
* ``visualize_filter``: gradient ascent in input space towards the image that
  maximises one filter's mean activation.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, nn
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from . import plotting
from ._common import (
    check_index,
    expected_input_shape,
    find_layer,
    first_layer,
    inspecting,
    prepare_image,
    run_to,
    to_numpy,
)


def activations(model, x, layers):
    """``{name: output}`` of the named layers when ``model`` runs on ``x`` (in eval mode).

    ``x``: an image (C, H, W) or a batch (N, C, H, W), Tensor or array.
    ``layers``: a name or a list of names from ``model.named_modules()``
    (``"features.0"``, ``"conv1"``); an unknown name raises a ValueError
    listing the valid ones.  Each output is a NumPy array (N, ...); a layer
    called several times in one forward pass gives its first call.  The hooks
    are removed when the call returns, also when the forward pass raises.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = [find_layer(model, name, "activations") for name in names]
    captured = {}

    def recorder(name):
        def hook(module, args, output):
            captured.setdefault(name, to_numpy(output))
        return hook

    handles = []
    with inspecting(model), no_grad():
        x = prepare_image(model, x, "activations", batch=True)  # its size check runs the model: before the hooks
        try:
            for name, module in zip(names, modules):
                handles.append(module.register_forward_hook(recorder(name)))
            model(x)
        finally:
            for handle in handles:
                handle.remove()
    missing = [name for name in names if name not in captured]
    if missing:
        raise RuntimeError(f"activations: the forward pass never called the layer(s) {', '.join(missing)}")
    return {name: captured[name] for name in names}


def _map_tiles(output, max_maps):
    """The first ``max_maps`` channels of one sample's output as 2-d tiles.

    (C, h, w) gives C maps; a flat (F,) output (a fully connected layer) is
    shown as one strip of F values.
    """
    if output.ndim == 3:
        return list(output[:max_maps])
    return [output.reshape(1, -1)]


def plot_feature_maps(model, x, layers, path, max_maps=16, max_cols=8):
    """Write a grid of feature maps per layer (the first image of ``x``) to ``path``.

    Each layer gets its own block of at most ``max_maps`` channels, titled
    with the layer's name and output shape; every map is drawn with its own
    grey scale (black = its minimum, white = its maximum).  Returns the
    activations, as ``activations`` does.
    """
    outputs = activations(model, x, layers)
    blocks = {name: _map_tiles(output[0], max_maps) for name, output in outputs.items()}
    cols = max(plotting.grid_shape(len(tiles), max_cols)[1] for tiles in blocks.values())
    heights = [plotting.grid_shape(len(tiles), cols)[0] for tiles in blocks.values()]
    figure = plotting.new_figure(sum(heights) + 0.25 * len(blocks), cols)
    for sub, height, (name, tiles) in zip(
        figure.subfigures(len(blocks), 1, height_ratios=[h + 0.25 for h in heights], squeeze=False).flat,
        heights, blocks.items(),
    ):
        sub.suptitle(f"{name}  {tuple(outputs[name].shape[1:])}", fontsize=9)
        for k, axis in enumerate(sub.subplots(height, cols, squeeze=False).flat):
            if k < len(tiles):
                plotting.show_tile(axis, tiles[k], aspect="auto" if tiles[k].shape[0] == 1 else None)
            else:
                axis.axis("off")
    plotting.save(figure, path)
    return outputs


def filter_tiles(model, layer=None):
    """The filters of a convolution as images in [0, 1]: (K, kh, kw, 3) for RGB input, else (K*C, kh, kw).

    ``layer``: a Conv2d's name (default: the first one).  Each filter is
    rescaled on its own (its smallest weight black, its largest white).  A
    filter over 3 channels is one colour tile; over 1 channel one grey tile;
    over any other number (a deeper layer) one grey tile per input channel.
    """
    if layer is None:
        layer, conv = first_layer(model, nn.Conv2d)
        if conv is None:
            raise ValueError("plot_filters: the model has no Conv2d layer")
    else:
        conv = find_layer(model, layer, "plot_filters")
        if not isinstance(conv, nn.Conv2d):
            raise ValueError(f"plot_filters: layer {layer!r} is a {type(conv).__name__}, not a Conv2d")
    weight = to_numpy(conv.weight).astype(np.float64)  # (K, C, kh, kw)
    if weight.shape[1] == 3:
        return np.stack([plotting.rescale(w) for w in np.moveaxis(weight, 1, -1)])
    return np.stack([plotting.rescale(w) for w in weight.reshape(-1, *weight.shape[2:])])


def plot_filters(model, path, layer=None, max_cols=8):
    """Write the filters of a convolution (default: the first) as image tiles to ``path``.

    Returns the tiles (see ``filter_tiles``).
    """
    tiles = filter_tiles(model, layer)
    plotting.plot_tiles(list(tiles), path, max_cols=max_cols)
    return tiles


def visualize_filter(model, layer, filter_index, steps=40, lr=None, init=None, shape=None, seed=0, path=None):
    """The input that maximises the mean activation of one filter, by gradient ascent.

    Starting from ``init`` (an image (C, H, W)) or from grey with a little
    noise (``seed``) of ``shape`` (default: what the model takes), each step

        g = d mean(layer(x)[filter_index]) / dx,      x <- x + lr * g / (||g||_2 + 1e-8)

    moves the image by ``lr`` in L2 norm whatever the size of the gradient
    (the normalisation of the course notes).  The default ``lr`` is
    0.05 * sqrt(C H W): a root-mean-square change of 0.05 per pixel.
    Parameters are never changed (only the input requires grad), and the
    forward pass stops at ``layer``.  Returns the image (C, H, W); ``path``
    writes it as a PNG (rescaled to [0, 1]).
    """
    op = "visualize_filter"
    module = find_layer(model, layer, op)
    with inspecting(model):
        if init is not None:
            x = prepare_image(model, init, op)
        else:
            x = prepare_image(model, _grey_start(model, shape, seed), op)
        xp = backend.get_array_module(x.data)
        if lr is None:
            lr = 0.05 * math.sqrt(x.data.size)
        for step in range(steps):
            x = Tensor(x.data, requires_grad=True)
            output = run_to(model, x, module)
            if step == 0:
                count = output.shape[1]
                check_index(filter_index, count, "filter", f"layer {layer!r} has {count} filters", op)
            output[0, filter_index].mean().backward()
            gradient = x.grad.data
            x = Tensor(x.data + lr * gradient / (xp.sqrt((gradient * gradient).sum()) + 1e-8))
    image = to_numpy(x)[0]
    if path is not None:
        figure = plotting.new_figure(1, 1)
        plotting.show_tile(figure.subplots(), plotting.rescale(plotting.display_image(image)),
                           title=f"{layer}[{filter_index}]")
        plotting.save(figure, path)
    return image


def _grey_start(model, shape, seed):
    """Mid-grey plus noise of standard deviation 0.05, of ``shape`` or the model's input shape."""
    if shape is None:
        shape = expected_input_shape(model)
        if None in shape:
            raise ValueError(
                f"visualize_filter: the model does not fix its input size (expected shape {shape}); "
                "pass shape=(C, H, W) or init=an image"
            )
    noise = np.random.default_rng(seed).normal(0.0, 0.05, size=tuple(shape))
    return (0.5 + noise).astype(np.float32)
