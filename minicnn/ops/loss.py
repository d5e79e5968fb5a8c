"""Losses: ``cross_entropy nll_loss mse_loss l1_loss binary_cross_entropy
binary_cross_entropy_with_logits``.

Every loss first computes one value per element (per sample for the
classification losses), then reduces them as PyTorch does:

* ``reduction="none"``: the per-element losses;
* ``"sum"``: their sum;
* ``"mean"``: their mean; for class-index targets with class weights ``w`` the
  *weighted* mean  sum_n w[t_n] l_n / sum_n w[t_n]  over the targets that are
  not ``ignore_index``.

Classification losses and the class axis.  The input is (N, C) or
(N, C, d1, d2, ...) (e.g. per-pixel classes of a segmentation), the class axis
is 1, and class-index targets are integers of shape (N, d1, d2, ...).  Both
``nll_loss`` and ``cross_entropy`` turn the targets into a dense array of
per-class target weights ``q`` of the input's shape (``_class_target_weights``):
one-hot times the class weight, smoothed by ``label_smoothing``, zero where the
target is ignored.  The loss of one sample is then  l = -sum_c q_c log p_c.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import DeviceError, get_array_module, ignore_float_errors
from ..factories import tensor
from .activation import _sigmoid, log_softmax_array
from .arithmetic import sum_to_shape

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


# ------------------------------------------------------------ the Functions
class NLLLoss(Function):
    """Negative log-likelihood:  l[n, ...] = -sum_c q[n, c, ...] x[n, c, ...]  (x: log-probabilities).

    With one-hot class weights q this is  l_n = -w[t_n] x[n, t_n].
    x: (N, C, *) -> l: (N, *).   Backward (l is linear in x):  dL/dx = -g[:, None] * q.
    """

    def __init__(self, q):
        self.q = q  # (N, C, *): the per-class target weights, a constant

    def forward(self, x):
        return -(self.q * x).sum(axis=1)

    def backward(self, g):
        return -get_array_module(g).expand_dims(g, 1) * self.q


class CrossEntropy(Function):
    """log_softmax and the negative log-likelihood fused into one op.

    Forward, over the class axis 1:
        log p = x - logsumexp(x),     l = -sum_c q_c log p_c      x, q: (N, C, *) -> l: (N, *)
    Backward, with p = softmax(x) = e^{log p}:
        dL/dx = g (p sum_c q_c - q)       (one-hot q of weight 1: the famous p - onehot)
        dL/dq = -g log p                  (probability targets may require grad)
    Fused, the backward is one elementwise expression instead of the softmax
    Jacobian-vector product followed by the scatter of nll.
    """

    def forward(self, x, q):
        self.log_p = log_softmax_array(x, 1)
        self.q = q
        return -(q * self.log_p).sum(axis=1)

    def backward(self, g):
        xp = get_array_module(g)
        g = xp.expand_dims(g, 1)  # (N, 1, *)
        gx = gq = None
        if self.needs_input_grad[0]:
            q = self.q
            gx = g * (xp.exp(self.log_p) * q.sum(axis=1, keepdims=True) - q)
        if self.needs_input_grad[1]:
            gq = -g * self.log_p
        return gx, gq


class BinaryCrossEntropy(Function):
    """l = -(t log x + (1 - t) log(1 - x)), each log clamped at -100 (as PyTorch),
    so that x = 0 or 1 gives a large finite loss instead of inf.

    Backward: dL/dx = g (x - t) / max(x (1 - x), 1e-12)   (PyTorch's formula),
              dL/dt = g (log(1 - x) - log x)  (the clamped logs).
    """

    def forward(self, x, t):
        xp = get_array_module(x)
        with ignore_float_errors(xp):
            self.log_x = xp.maximum(xp.log(x), -100)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.x, self.t = x, t
        return (t - 1) * self.log_1mx - t * self.log_x  # PyTorch's form (no -0.0)

    def backward(self, g):
        xp = get_array_module(g)
        x, t = self.x, self.t
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = sum_to_shape(g * (x - t) / xp.maximum(x * (1 - x), 1e-12), x.shape)
        if self.needs_input_grad[1]:
            gt = sum_to_shape(g * (self.log_1mx - self.log_x), t.shape)
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """sigmoid and binary cross-entropy fused, stable for any logit x:

        l = -w_t t log s(x) - (1 - t) log(1 - s(x)),   s = sigmoid,  w_t = 1 + (pos_weight - 1) t
          = max(x, 0) - x t + log1p(e^{-|x|}) + (pos_weight - 1) t softplus(-x)

    using -log s(x) = softplus(-x) = max(-x, 0) + log1p(e^{-|x|}) and
    -log(1 - s(x)) = x + softplus(-x).  No exp of a large number anywhere, and
    at x = -100, t = 0 the loss keeps its tiny value log1p(e^-100).
    Backward, with s = sigmoid (s(-x) = 1 - s(x), but accurate where s(x) rounds to 1):
        dL/dx = g ((1 - t) s(x) - pos_weight t s(-x))      (= g (s(x) - t) without pos_weight)
        dL/dt = g (-x + (pos_weight - 1) softplus(-x)),   dL/dpos_weight = g t softplus(-x).
    """

    def forward(self, x, t, pos_weight):
        xp = get_array_module(x)
        self.x, self.t, self.pos_weight = x, t, pos_weight
        log_term = xp.log1p(xp.exp(-xp.abs(x)))
        self.sp = xp.maximum(-x, 0) + log_term  # softplus(-x)
        loss = xp.maximum(x, 0) - x * t + log_term
        if pos_weight is None:
            return loss
        return loss + (pos_weight - 1) * t * self.sp

    def backward(self, g):
        x, t, pw, sp = self.x, self.t, self.pos_weight, self.sp
        gx = gt = gpw = None
        if self.needs_input_grad[0]:
            positive = t * _sigmoid(-x) if pw is None else pw * t * _sigmoid(-x)
            gx = sum_to_shape(g * ((1 - t) * _sigmoid(x) - positive), x.shape)
        if self.needs_input_grad[1]:
            dt = -x if pw is None else -x + (pw - 1) * sp
            gt = sum_to_shape(g * dt, t.shape)
        if self.needs_input_grad[2]:
            gpw = sum_to_shape(g * t * sp, pw.shape)
        return gx, gt, gpw


# ----------------------------------------------------------------- helpers
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got reduction={reduction!r}")


def _reduce(loss, reduction, total=None):
    """'none': the losses as they are; 'sum': their sum; 'mean': sum / total
    (``total``: the sum of the target weights), or the plain mean without it."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if total is None:
        return loss.mean()
    return loss.sum() / tensor(total, dtype=loss.dtype, device=loss.device)


def _as_target(target, input, op):
    """The target as a tensor on the input's device (arrays and lists are converted)."""
    if not isinstance(target, Tensor):
        return tensor(target, device=input.device)
    if target.device != input.device:
        raise DeviceError(f"{op}: input is on {input.device} but target is on {target.device}")
    return target


def _check_same_shape(input, target, op):
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; "
            "they must be the same"
        )


def _check_class_weight(weight, input, op):
    """``weight``: None or a (C,) tensor on the input's device."""
    if weight is None:
        return
    n_classes = input.shape[1]
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(
            f"{op}: weight must have one entry per class, shape ({n_classes},), got {tuple(weight.shape)}"
        )
    if weight.device != input.device:
        raise DeviceError(f"{op}: input is on {input.device} but weight is on {weight.device}")


def _class_target_weights(input, target, weight, ignore_index, label_smoothing, op):
    """Validate class-index targets and turn them into per-class target weights.

    input: (N, C, *), target: (N, *) integers in [0, C) or ``ignore_index``.
    Returns ``q`` of the input's shape and the 'mean' denominator:
        q[n, c] = w_c ((1 - e) [c = t_n] + e / C)   (0 for ignored targets),
        total   = sum of w[t_n] over the targets that are not ignored.
    """
    x, t = input.data, target.data
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: class-index targets must be an integer tensor (int64), got dtype {t.dtype}"
        )
    expected = x.shape[:1] + x.shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"{op}: input of shape {tuple(x.shape)} needs a target of shape {tuple(expected)}, "
            f"got {tuple(t.shape)}"
        )
    n_classes = x.shape[1]
    _check_class_weight(weight, input, op)
    xp = get_array_module(x)
    kept = t != ignore_index  # (N, *)
    bad = kept & ((t < 0) | (t >= n_classes))
    if bad.any():
        value = int(t[bad][0])
        raise IndexError(
            f"{op}: target {value} is out of bounds for {n_classes} classes "
            f"(expected 0 <= target < {n_classes}, or ignore_index={ignore_index})"
        )
    safe = xp.where(kept, t, 0)
    class_shape = (1, n_classes) + (1,) * (t.ndim - 1)
    onehot = xp.arange(n_classes).reshape(class_shape) == xp.expand_dims(safe, 1)  # (N, C, *)
    q = onehot.astype(x.dtype)
    if label_smoothing:
        q = (1 - label_smoothing) * q + label_smoothing / n_classes
    q *= xp.expand_dims(kept, 1)
    if weight is None:
        return q, kept.sum()
    w = weight.data.astype(x.dtype, copy=False)
    q *= w.reshape(class_shape)
    return q, (w[safe] * kept).sum()


def _unbatched(input, target, op, class_indices):
    """PyTorch also takes one sample: input (C,) with a target () of class index
    or (C,) of probabilities.  Add the batch axis; the caller removes it again."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape((1,) if class_indices else (1, -1)), True
    return input, target, False


# ------------------------------------------------------------- public functions
def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices, given log-probabilities.

    input: (N, C, *) log-probabilities (e.g. ``log_softmax(x, axis=1)``),
    target: (N, *) int64 class indices.  l_n = -weight[t_n] input[n, t_n].
    """
    _check_reduction(reduction, "nll_loss")
    target = _as_target(target, input, "nll_loss")
    input, target, single = _unbatched(input, target, "nll_loss", class_indices=True)
    q, total = _class_target_weights(input, target, weight, ignore_index, 0.0, "nll_loss")
    loss = NLLLoss.apply(input, q=q)
    return _reduce(loss.reshape(()) if single else loss, reduction, total)


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between softmax(input) over axis 1 and the target.

    input: (N, C, *) unnormalised scores (logits).  target: either (N, *) int64
    class indices, or (N, C, *) float class probabilities (the input's shape).
    ``weight``: (C,) class weights; ``label_smoothing`` e mixes the target with
    the uniform distribution: (1 - e) target + e / C.
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    target = _as_target(target, input, op)
    probabilities = target.dtype.kind == "f"
    if probabilities and target.shape != input.shape:
        raise TypeError(
            f"{op}: a {target.dtype} target must hold class probabilities of the input's shape "
            f"{tuple(input.shape)}, got shape {tuple(target.shape)}; for class indices pass an "
            f"integer (int64) target of shape {tuple(input.shape[:1] + input.shape[2:])}"
        )
    input, target, single = _unbatched(input, target, op, class_indices=not probabilities)
    n_classes = input.shape[1]
    if probabilities:
        if ignore_index >= 0:
            raise ValueError(f"{op}: ignore_index is not supported for probability targets, got {ignore_index}")
        _check_class_weight(weight, input, op)
        q = target if not label_smoothing else target * (1 - label_smoothing) + label_smoothing / n_classes
        if weight is not None:
            q = q * weight.reshape((n_classes,) + (1,) * (input.ndim - 2))
        total = None  # the mean is over the N * d1 * ... samples
    else:
        q, total = _class_target_weights(input, target, weight, ignore_index, label_smoothing, op)
    loss = CrossEntropy.apply(input, q)
    return _reduce(loss.reshape(()) if single else loss, reduction, total)


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error: (input - target)^2 per element, then reduced."""
    _check_reduction(reduction, "mse_loss")
    diff = input - _as_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error: |input - target| per element, then reduced."""
    _check_reduction(reduction, "l1_loss")
    return _reduce((input - _as_target(target, input, "l1_loss")).abs(), reduction)


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)) per element, for probabilities x in [0, 1].

    Each log is clamped at -100, as PyTorch.  ``weight`` rescales each element
    (it broadcasts against the input); 'mean' is the plain mean of the weighted losses.
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    target = _as_target(target, input, op)
    _check_same_shape(input, target, op)
    x = input.data
    if ((x < 0) | (x > 1)).any():
        raise ValueError(
            f"{op}: all elements of input must be probabilities in [0, 1], got values from "
            f"{float(x.min())} to {float(x.max())} (for logits use binary_cross_entropy_with_logits)"
        )
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean", pos_weight=None):
    """sigmoid + binary cross-entropy in one stable op, for logits of any size.

    ``pos_weight`` (broadcasting against the last axis, usually (C,)) weighs the
    positive term, trading recall against precision.  ``weight`` rescales each element.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    target = _as_target(target, input, op)
    _check_same_shape(input, target, op)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)
