"""The gradient checks behind ``minicnn gradcheck``: every differentiable op, in float64.

Each case is an op, a configuration and a function of float64 tensors; the
check compares the backward pass with central finite differences
(``minicnn.autograd.gradcheck_result``) and reports the worst element's
absolute and relative error.  The list covers every function of
``minicnn.nn.functional`` and every differentiable tensor op, with the
configurations that take different code paths (stride, padding, dilation,
groups; train and eval batch norm; the loss options).

Inputs are drawn away from the kinks of non-smooth ops (relu, abs, max,
pooling) by the random values: two equal values in one window would make the
finite difference meaningless, and with continuous random inputs that has
probability zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd.gradcheck import gradcheck_result
from ..autograd.tensor import Tensor


@dataclass
class Case:
    op: str
    config: str
    fn: object       # fn(*tensors) -> Tensor
    shapes: tuple    # shapes of the float inputs that get gradients
    extra: tuple = ()  # non-differentiable arguments appended after them (arrays become tensors)
    positive: bool = False  # draw inputs in (0.5, 2) instead of (-1, 1) (log, sqrt, pow)
    unit: bool = False      # draw inputs in (0.05, 0.95) (probabilities)


def _ops():
    import minicnn as mc
    import minicnn.nn.functional as F

    def seeded(fn):
        """Dropout: the same mask at every evaluation, so finite differences see one function."""
        def run(*args):
            mc.manual_seed(123)
            return fn(*args)
        return run

    def on(x, *arrays):
        """Constant float64 tensors on ``x``'s device (running statistics, class weights)."""
        return [mc.tensor(np.asarray(a, dtype=np.float64), device=x.device) for a in arrays]

    targets = np.array([0, 2, 1, 2])
    seg = np.array([[0, 1], [2, 0], [1, 1], [2, 2]])
    binary = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    running = (np.zeros(3), np.ones(3))
    cases = [
        # ---------------------------------------------------------- arithmetic
        Case("add", "broadcast (3,4)+(4,)", lambda a, b: a + b, ((3, 4), (4,))),
        Case("sub", "broadcast (2,3,1)-(3,4)", lambda a, b: a - b, ((2, 3, 1), (3, 4))),
        Case("mul", "broadcast (3,1)*(1,4)", lambda a, b: a * b, ((3, 1), (1, 4))),
        Case("div", "(3,4)/(3,4)", lambda a, b: a / b, ((3, 4), (3, 4)), positive=True),
        Case("pow", "tensor ** tensor", lambda a, b: a ** b, ((3, 4), (3, 4)), positive=True),
        Case("pow", "tensor ** 3", lambda a: a ** 3, ((3, 4),)),
        Case("neg", "(3,4)", lambda a: -a, ((3, 4),)),
        Case("matmul", "(3,4)@(4,5)", lambda a, b: a @ b, ((3, 4), (4, 5))),
        Case("matmul", "batched (2,3,4)@(4,2)", lambda a, b: a @ b, ((2, 3, 4), (4, 2))),
        Case("matmul", "vector (4,)@(4,3)", lambda a, b: a @ b, ((4,), (4, 3))),
        # ---------------------------------------------------------- elementwise
        Case("exp", "(3,4)", mc.exp, ((3, 4),)),
        Case("log", "(3,4)", mc.log, ((3, 4),), positive=True),
        Case("sqrt", "(3,4)", mc.sqrt, ((3, 4),), positive=True),
        Case("abs", "(3,4)", mc.abs, ((3, 4),)),
        Case("relu", "tensor op", mc.relu, ((3, 4),)),
        Case("clip", "min=-0.5, max=0.5", lambda a: mc.clip(a, -0.5, 0.5), ((3, 4),)),
        Case("where", "condition a > 0", lambda a, b: mc.where(a.data > 0, a, b), ((3, 4), (3, 4))),
        Case("maximum", "(3,4), (4,)", mc.maximum, ((3, 4), (4,))),
        Case("minimum", "(3,4), (3,4)", mc.minimum, ((3, 4), (3, 4))),
        # ---------------------------------------------------------- reductions
        Case("sum", "all", lambda a: a.sum(), ((3, 4),)),
        Case("sum", "axis=1 keepdims", lambda a: a.sum(axis=1, keepdims=True), ((3, 4),)),
        Case("mean", "axis=(0,2)", lambda a: mc.mean(a, axis=(0, 2)), ((2, 3, 4),)),
        Case("var", "axis=1 unbiased", lambda a: mc.var(a, axis=1), ((3, 5),)),
        Case("std", "all", lambda a: mc.std(a), ((3, 5),)),
        Case("max", "axis=1 values", lambda a: mc.max(a, axis=1)[0], ((3, 5),)),
        Case("max", "all", lambda a: mc.max(a), ((3, 5),)),
        Case("min", "axis=0 values", lambda a: mc.min(a, axis=0)[0], ((3, 5),)),
        Case("amax", "axis=-1", lambda a: mc.amax(a, axis=-1), ((3, 5),)),
        Case("amin", "axis=0", lambda a: mc.amin(a, axis=0), ((3, 5),)),
        Case("logsumexp", "axis=1", lambda a: F.logsumexp(a, axis=1), ((3, 5),)),
        # ---------------------------------------------------------- shapes
        Case("reshape", "(3,4)->(2,6)", lambda a: a.reshape(2, 6), ((3, 4),)),
        Case("permute", "(2,3,4)->(2,0,1)", lambda a: mc.permute(a, 2, 0, 1), ((2, 3, 4),)),
        Case("transpose", "axes 0,2", lambda a: mc.transpose(a, 0, 2), ((2, 3, 4),)),
        Case("flatten", "start 1", lambda a: mc.flatten(a, 1), ((2, 3, 4),)),
        Case("squeeze", "axis=1", lambda a: mc.squeeze(a, 1), ((3, 1, 4),)),
        Case("unsqueeze", "axis=0", lambda a: mc.unsqueeze(a, 0), ((3, 4),)),
        Case("expand", "(3,1)->(3,4)", lambda a: mc.expand(a, 3, 4), ((3, 1),)),
        Case("getitem", "slice, step, int", lambda a: a[1:, ::2, 0], ((3, 4, 2),)),
        Case("getitem", "integer array (repeats)", lambda a: a[np.array([0, 2, 0])], ((3, 4),)),
        Case("cat", "axis=1", lambda a, b: mc.cat([a, b], axis=1), ((2, 3), (2, 2))),
        Case("stack", "axis=0", lambda a, b: mc.stack([a, b]), ((2, 3), (2, 3))),
        Case("split", "sections (1,3)", lambda a: mc.split(a, [1, 3], axis=1)[1] * 2, ((2, 4),)),
        Case("clone", "(3,4)", lambda a: a.clone(), ((3, 4),)),
        Case("cast", "float64->float64", lambda a: a.double(), ((3, 4),)),
        # ---------------------------------------------------------- linear and convolution
        Case("linear", "bias", F.linear, ((4, 5), (3, 5), (3,))),
        Case("linear", "no bias, 3-d input", lambda x, w: F.linear(x, w), ((2, 4, 5), (3, 5))),
        Case("conv1d", "stride 2, padding 1", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
             ((2, 2, 7), (3, 2, 3), (3,))),
        Case("conv2d", "plain", lambda x, w, b: F.conv2d(x, w, b), ((2, 2, 5, 5), (3, 2, 3, 3), (3,))),
        Case("conv2d", "stride 2, padding 1", lambda x, w: F.conv2d(x, w, stride=2, padding=1),
             ((1, 2, 6, 5), (2, 2, 3, 3))),
        Case("conv2d", "dilation 2, padding same", lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
             ((1, 2, 6, 6), (2, 2, 3, 3))),
        Case("conv2d", "groups 2", lambda x, w, b: F.conv2d(x, w, b, groups=2), ((1, 4, 5, 5), (4, 2, 3, 3), (4,))),
        Case("conv2d", "1x1, rectangular (2, 3) stride", lambda x, w: F.conv2d(x, w, stride=(2, 3)),
             ((1, 3, 5, 7), (2, 3, 1, 1))),
        Case("conv3d", "padding 1", lambda x, w, b: F.conv3d(x, w, b, padding=1),
             ((1, 2, 3, 4, 4), (2, 2, 2, 3, 3), (2,))),
        Case("conv_transpose2d", "stride 2, padding 1, output_padding 1",
             lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
             ((1, 2, 3, 3), (2, 3, 3, 3), (3,))),
        Case("conv_transpose2d", "groups 2, dilation 2",
             lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2), ((1, 4, 3, 3), (4, 1, 2, 2))),
        # ---------------------------------------------------------- pooling
        Case("max_pool1d", "k 2", lambda x: F.max_pool1d(x, 2), ((2, 2, 6),)),
        Case("max_pool2d", "k 2", lambda x: F.max_pool2d(x, 2), ((2, 2, 4, 4),)),
        Case("max_pool2d", "k 3, stride 2, padding 1, ceil_mode",
             lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), ((1, 2, 6, 5),)),
        Case("max_pool3d", "k 2", lambda x: F.max_pool3d(x, 2), ((1, 2, 4, 4, 4),)),
        Case("avg_pool1d", "k 3, stride 2", lambda x: F.avg_pool1d(x, 3, stride=2), ((2, 2, 7),)),
        Case("avg_pool2d", "k 2", lambda x: F.avg_pool2d(x, 2), ((2, 2, 4, 4),)),
        Case("avg_pool2d", "k 3, stride 2, padding 1", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1),
             ((1, 2, 5, 5),)),
        Case("avg_pool3d", "k 2", lambda x: F.avg_pool3d(x, 2), ((1, 1, 4, 4, 4),)),
        Case("adaptive_avg_pool1d", "7 -> 3", lambda x: F.adaptive_avg_pool1d(x, 3), ((2, 2, 7),)),
        Case("adaptive_avg_pool2d", "5x5 -> 1x1", lambda x: F.adaptive_avg_pool2d(x, 1), ((2, 3, 5, 5),)),
        Case("adaptive_avg_pool2d", "5x7 -> 2x3", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), ((1, 2, 5, 7),)),
        Case("adaptive_avg_pool3d", "4 -> 2", lambda x: F.adaptive_avg_pool3d(x, 2), ((1, 1, 4, 4, 4),)),
        Case("adaptive_max_pool1d", "7 -> 3", lambda x: F.adaptive_max_pool1d(x, 3), ((2, 2, 7),)),
        Case("adaptive_max_pool2d", "5x7 -> 2x3", lambda x: F.adaptive_max_pool2d(x, (2, 3)), ((1, 2, 5, 7),)),
        Case("adaptive_max_pool3d", "4 -> 2", lambda x: F.adaptive_max_pool3d(x, 2), ((1, 1, 4, 4, 4),)),
        # ---------------------------------------------------------- normalisation and dropout
        Case("batch_norm", "training, affine",
             lambda x, w, b: F.batch_norm(x, *on(x, *running), w, b, training=True),
             ((4, 3, 2, 2), (3,), (3,))),
        Case("batch_norm", "eval (running statistics)",
             lambda x, w, b: F.batch_norm(x, *on(x, running[0] + 0.1, running[1] * 2), w, b,
                                          training=False), ((4, 3, 2, 2), (3,), (3,))),
        Case("batch_norm", "training, 2-d input, no affine",
             lambda x: F.batch_norm(x, *on(x, *running), training=True), ((5, 3),)),
        Case("dropout", "p 0.3 (fixed mask)", seeded(lambda x: F.dropout(x, 0.3, training=True)), ((4, 5),)),
        Case("dropout2d", "p 0.5 (fixed mask)", seeded(lambda x: F.dropout2d(x, 0.5, training=True)), ((3, 4, 2, 2),)),
        # ---------------------------------------------------------- activations
        Case("relu", "F", F.relu, ((3, 4),)),
        Case("leaky_relu", "slope 0.1", lambda x: F.leaky_relu(x, 0.1), ((3, 4),)),
        Case("elu", "alpha 1", F.elu, ((3, 4),)),
        Case("sigmoid", "(3,4)", F.sigmoid, ((3, 4),)),
        Case("tanh", "(3,4)", F.tanh, ((3, 4),)),
        Case("gelu", "exact (erf)", F.gelu, ((3, 4),)),
        Case("gelu", "tanh approximation", lambda x: F.gelu(x, approximate="tanh"), ((3, 4),)),
        Case("softplus", "beta 2", lambda x: F.softplus(x, beta=2.0), ((3, 4),)),
        Case("softmax", "axis=1", lambda x: F.softmax(x, axis=1), ((3, 4),)),
        Case("log_softmax", "axis=-1", lambda x: F.log_softmax(x, axis=-1), ((3, 4),)),
        Case("maxout", "pool 2 over channels", lambda x: F.maxout(x, 2), ((2, 4, 3),)),
        # ---------------------------------------------------------- losses
        Case("cross_entropy", "mean", lambda x, t: F.cross_entropy(x, t), ((4, 3),), (targets,)),
        Case("cross_entropy", "class weights, label smoothing 0.1",
             lambda x, t: F.cross_entropy(x, t, weight=on(x, [1.0, 2.0, 0.5])[0], label_smoothing=0.1),
             ((4, 3),), (targets,)),
        Case("cross_entropy", "ignore_index, sum",
             lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction="sum"), ((4, 3),), (targets,)),
        Case("cross_entropy", "per pixel (N, C, L)", lambda x, t: F.cross_entropy(x, t), ((4, 3, 2),), (seg,)),
        Case("nll_loss", "mean", lambda x, t: F.nll_loss(F.log_softmax(x, axis=1), t), ((4, 3),), (targets,)),
        Case("mse_loss", "mean", F.mse_loss, ((3, 4), (3, 4))),
        Case("l1_loss", "sum", lambda a, b: F.l1_loss(a, b, reduction="sum"), ((3, 4), (3, 4))),
        Case("binary_cross_entropy", "mean", lambda p, t: F.binary_cross_entropy(p, t), ((2, 3),), (binary,),
             unit=True),
        Case("binary_cross_entropy_with_logits", "pos_weight",
             lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=on(x, [1.0, 2.0, 3.0])[0]),
             ((2, 3),), (binary,)),
        # ---------------------------------------------------------- resizing and padding
        Case("interpolate", "nearest x2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
             ((1, 2, 3, 3),)),
        Case("interpolate", "bilinear 3x3 -> 5x4", lambda x: F.interpolate(x, size=(5, 4), mode="bilinear"),
             ((1, 2, 3, 3),)),
        Case("interpolate", "bilinear align_corners",
             lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True), ((1, 1, 3, 3),)),
        Case("interpolate", "linear (N, C, L)", lambda x: F.interpolate(x, size=7, mode="linear"), ((1, 2, 4),)),
        Case("pad", "constant (1, 2, 0, 1)", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), ((1, 1, 3, 3),)),
        Case("pad", "reflect", lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), ((1, 1, 4, 4),)),
        Case("pad", "replicate", lambda x: F.pad(x, (1, 1, 2, 0), mode="replicate"), ((1, 1, 3, 3),)),
        Case("pad", "circular", lambda x: F.pad(x, (1, 2), mode="circular"), ((1, 1, 4),)),
    ]
    return cases


def cases():
    """The curated list of (op, configuration) checks."""
    return _ops()


def run_case(case, device="cpu", seed=0):
    """Run one case; returns a ``GradcheckResult`` (``passed``, ``max_abs_error``, ``max_rel_error``)."""
    rng = np.random.default_rng(seed)
    if case.unit:
        low, high = 0.05, 0.95
    elif case.positive:
        low, high = 0.5, 2.0
    else:
        low, high = -1.0, 1.0
    device = backend.as_device(device)
    inputs = [Tensor(backend.to_device(rng.uniform(low, high, size=s), device), requires_grad=True)
              for s in case.shapes]
    extras = [Tensor(backend.to_device(np.asarray(e), device)) if isinstance(e, np.ndarray) else e
              for e in case.extra]
    return gradcheck_result(case.fn, inputs + extras, eps=1e-6, atol=1e-5, rtol=1e-3)
