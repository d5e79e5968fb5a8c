"""``summary(model, input_shape)``: a Keras-style table of layers, output shapes and parameter counts.

    >>> net = nn.Sequential(nn.Conv2d(3, 10, 3), nn.ReLU())
    >>> text = mc.summary(net, (3, 32, 32))                     # doctest: +SKIP
    Model: "Sequential"
    =============================================
    Layer (type)    Output Shape          Param #
    =============================================
    0 (Conv2d)      (None, 10, 30, 30)        280
    1 (ReLU)        (None, 10, 30, 30)          0
    =============================================
    Total params: 280
    Trainable params: 280
    Non-trainable params: 0
    ---------------------------------------------

10 filters of 3x3x3 weights plus 10 biases: 10 * 27 + 10 = 280 parameters.

How it works: a forward hook on every layer records the shape of what the
layer returns while one forward pass runs on standard-normal noise.  Rows
come in the order the layers finished (a block after the layers inside it);
a layer called twice gets two rows, its parameters counted on the first;
a layer that never runs gets no row, but its parameters are in the totals.
The pass runs in eval mode, without gradients and with a private random
generator, so batch-norm statistics and the seeded global generator are
left untouched.
"""
from __future__ import annotations

import numpy

from .. import backend
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..factories import tensor


def _shape_text(output, batch_size):
    """``(None, 6, 28, 28)`` for a tensor; a list of them for a tuple of tensors."""
    if isinstance(output, Tensor):
        dims = list(output.shape)
        if dims:
            dims[0] = batch_size
        return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(o, batch_size) for o in output) + "]"
    return type(output).__name__


def _make_inputs(model, input_shape, batch_size, device):
    """One random tensor per input shape, on the model's device and floating dtype.

    The values come from a private generator so the global seed is not consumed.
    """
    params = list(model.parameters())
    if device is None:
        device = params[0].device if params else "cpu"
    dtype = next((p.dtype for p in params if backend.is_floating(p.dtype)), backend.get_default_dtype())
    shapes = [input_shape] if all(isinstance(d, int) for d in input_shape) else list(input_shape)
    rng = numpy.random.default_rng(0)
    n = 1 if batch_size is None else batch_size
    return [tensor(rng.standard_normal((n, *shape)), dtype=dtype, device=device) for shape in shapes]


def _record_layers(model, inputs, batch_size):
    """Run the model once; return ``[(name, module, output_text)]`` in the order layers ran.

    A row is kept for each layer that has no children or owns parameters directly.
    """
    names = {module: name for name, module in model.named_modules()}
    rows = []

    def hook(module, args, output):
        rows.append((names[module], module, _shape_text(output, batch_size)))

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if module is not model and (not module._modules or module._parameters)
    ]
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    return rows


def _param_count(module, counted):
    """Parameters owned directly by ``module`` that no earlier row counted (shared ones count once)."""
    total = 0
    for param in module.parameters(recurse=False):
        if param not in counted:
            counted.add(param)
            total += param.numel()
    return total


def summary(model, input_shape, batch_size=None, device=None, print_fn=print):
    """Print and return a table of ``model``'s layers, output shapes and parameter counts.

    ``input_shape`` excludes the batch axis: ``(3, 32, 32)``, or a list of shapes
    for a model with several inputs.  ``batch_size=None`` shows the batch axis
    as ``None`` (as Keras does).  ``device`` defaults to the model's.  Pass
    ``print_fn=None`` to only get the string.
    """
    inputs = _make_inputs(model, input_shape, batch_size, device)
    counted = set()
    rows = [
        (f"{name} ({type(module).__name__})", shape, _param_count(module, counted))
        for name, module, shape in _record_layers(model, inputs, batch_size)
    ]
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)

    headers = ("Layer (type)", "Output Shape", "Param #")
    cells = [(layer, shape, f"{count:,}") for layer, shape, count in rows]
    widths = [max(len(row[i]) for row in [headers] + cells) + 4 for i in range(3)]

    def line(layer, shape, count):
        return layer.ljust(widths[0]) + shape.ljust(widths[1]) + count.rjust(widths[2] - 4)

    rule = sum(widths) - 4
    lines = [f'Model: "{type(model).__name__}"', "=" * rule, line(*headers), "=" * rule]
    lines += [line(*cell) for cell in cells]
    lines += [
        "=" * rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        "-" * rule,
    ]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
