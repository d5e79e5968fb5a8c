"""Classification metrics, vectorised with NumPy.

Every function takes NumPy arrays, CuPy arrays or minicnn Tensors.
``output`` is either class scores of shape ``(N, C)`` (logits or
probabilities: the prediction is the argmax) or predicted labels of shape
``(N,)``; ``target`` holds the true labels, shape ``(N,)``.

The confusion matrix ``M`` counts, for every pair of classes, how often an
example of true class ``i`` was predicted as class ``j``::

    M[i, j] = #{n : target_n = i and prediction_n = j}      (rows: truth, columns: prediction)

    TP_c = M[c, c]          FP_c = column sum - TP_c          FN_c = row sum - TP_c

    precision_c = TP_c / (TP_c + FP_c)   of the examples predicted c, how many are c
    recall_c    = TP_c / (TP_c + FN_c)   of the examples of class c, how many were found
    F1_c        = 2 precision_c recall_c / (precision_c + recall_c)
    accuracy    = trace(M) / N

"Macro" averages give every class the same weight: the mean of the
per-class values.  A class that is never predicted has precision 0 (and one
never present has recall 0), as scikit-learn's ``zero_division=0``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "precision_recall_f1",
    "precision",
    "recall",
    "f1_score",
    "classification_report",
    "format_confusion_matrix",
    "psnr",
]


def to_numpy(x):
    """A NumPy array holding ``x`` (Tensor, NumPy or CuPy array, list)."""
    if isinstance(x, Tensor):
        x = x.data
    return backend.to_numpy(x) if backend.is_gpu_array(x) else np.asarray(x)


def _labels(output, name):
    """Predicted labels: argmax over classes of ``(N, C)`` scores, or ``(N,)`` labels as they are."""
    output = to_numpy(output)
    if output.ndim == 2:
        return output.argmax(axis=1)
    if output.ndim == 1:
        return output.astype(np.int64, copy=False)
    raise ValueError(f"{name}: expected scores of shape (N, C) or labels of shape (N,), but got shape {output.shape}")


def _pair(output, target, name):
    pred, target = _labels(output, name), to_numpy(target)
    if target.ndim != 1 or len(target) != len(pred):
        raise ValueError(
            f"{name}: target must have shape (N,) with N = {len(pred)} (the number of predictions), "
            f"but got shape {target.shape}"
        )
    return pred, target.astype(np.int64, copy=False)


def accuracy(output, target):
    """Fraction of examples whose prediction equals the target (0.0 for no examples)."""
    pred, target = _pair(output, target, "accuracy")
    return float((pred == target).mean()) if len(target) else 0.0


def top_k_accuracy(output, target, k=5):
    """Fraction of examples whose target is among the ``k`` highest scores of ``output`` (N, C).

    Ties are broken towards the lower class index, as ``argsort`` does.
    """
    scores, target = to_numpy(output), to_numpy(target)
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected scores of shape (N, C), but got shape {scores.shape}")
    if not 1 <= k:
        raise ValueError(f"top_k_accuracy: k must be at least 1, but got k={k}")
    if len(target) == 0:
        return 0.0
    k = min(k, scores.shape[1])
    # the target is in the top k when fewer than k classes score strictly higher
    # (ties broken by index: classes with equal score and lower index rank above it)
    target_score = scores[np.arange(len(target)), target][:, None]
    columns = np.arange(scores.shape[1])[None, :]
    above = (scores > target_score) | ((scores == target_score) & (columns < target[:, None]))
    return float((above.sum(axis=1) < k).mean())


def confusion_matrix(target, output, num_classes=None):
    """``M[i, j]``: examples of true class ``i`` predicted as ``j``; shape ``(num_classes, num_classes)``.

    The argument order is scikit-learn's: truth first, then prediction.
    ``num_classes`` defaults to 1 + the largest label seen (or the number of
    score columns when ``output`` holds scores).
    """
    scores = to_numpy(output)
    pred, target = _pair(scores, target, "confusion_matrix")
    if num_classes is None:
        num_classes = scores.shape[1] if scores.ndim == 2 else 0
        num_classes = max(num_classes, int(pred.max(initial=-1)) + 1, int(target.max(initial=-1)) + 1)
    if len(target) and (min(pred.min(), target.min()) < 0 or max(pred.max(), target.max()) >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes}), got {pred.min()}..{pred.max()} "
                         f"predicted and {target.min()}..{target.max()} true")
    counts = np.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _divide(a, b):
    """a / b elementwise, 0 where b == 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def precision_recall_f1(target, output, num_classes=None, average=None):
    """``(precision, recall, f1)`` per class (arrays of length C), or their macro means (``average="macro"``)."""
    if average not in (None, "macro"):
        raise ValueError(f"precision_recall_f1: average must be None or 'macro', but got average={average!r}")
    m = confusion_matrix(target, output, num_classes)
    tp = np.diag(m)
    precision = _divide(tp, m.sum(axis=0))
    recall = _divide(tp, m.sum(axis=1))
    f1 = _divide(2 * precision * recall, precision + recall)
    if average == "macro":
        return float(precision.mean()), float(recall.mean()), float(f1.mean())
    return precision, recall, f1


def precision(target, output, num_classes=None, average=None):
    """Per-class precision TP / (TP + FP), or its macro mean."""
    return precision_recall_f1(target, output, num_classes, average)[0]


def recall(target, output, num_classes=None, average=None):
    """Per-class recall TP / (TP + FN), or its macro mean."""
    return precision_recall_f1(target, output, num_classes, average)[1]


def f1_score(target, output, num_classes=None, average=None):
    """Per-class F1 (harmonic mean of precision and recall), or its macro mean."""
    return precision_recall_f1(target, output, num_classes, average)[2]


def classification_report(target, output, class_names=None, num_classes=None):
    """A text table: precision, recall, F1 and support per class, then accuracy and the macro means."""
    m = confusion_matrix(target, output, num_classes)
    p, r, f = precision_recall_f1(target, output, len(m))
    names = [str(c) for c in (class_names if class_names is not None else range(len(m)))]
    width = max([len(n) for n in names] + [len("macro avg")])
    lines = [f"{'':>{width}}  precision  recall     f1  support"]
    for name, pc, rc, fc, support in zip(names, p, r, f, m.sum(axis=1)):
        lines.append(f"{name:>{width}}  {pc:9.4f}  {rc:6.4f}  {fc:6.4f}  {support:7d}")
    total = int(m.sum())
    acc = float(np.trace(m) / total) if total else 0.0
    lines.append(f"{'accuracy':>{width}}  {'':9}  {'':6}  {acc:6.4f}  {total:7d}")
    lines.append(f"{'macro avg':>{width}}  {p.mean():9.4f}  {r.mean():6.4f}  {f.mean():6.4f}  {total:7d}")
    return "\n".join(lines)


def format_confusion_matrix(m, class_names=None):
    """The confusion matrix as text: rows are true classes, columns predicted ones."""
    m = np.asarray(m)
    names = [str(c) for c in (class_names if class_names is not None else range(len(m)))]
    width = max(max(len(n) for n in names), len(str(int(m.max(initial=0)))), 3)
    corner = "true \\ pred"
    first = max(width, len(corner))
    head = f"{corner:>{first}} " + " ".join(f"{n:>{width}}" for n in names)
    rows = [f"{name:>{first}} " + " ".join(f"{int(v):>{width}}" for v in row) for name, row in zip(names, m)]
    return "\n".join([head] + rows)


def psnr(output, target, peak=1.0):
    """Peak signal-to-noise ratio in dB of images in [0, peak]: 10 log10(peak^2 / MSE) (inf when equal)."""
    output, target = to_numpy(output).astype(np.float64), to_numpy(target).astype(np.float64)
    if output.shape != target.shape:
        raise ValueError(f"psnr: output shape {output.shape} differs from target shape {target.shape}")
    mse = float(np.mean((output - target) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(peak ** 2 / mse))


# Metric names the Trainer understands: name -> fn(outputs, targets) over one epoch.
METRICS = {
    "accuracy": accuracy,
    "top5_accuracy": lambda output, target: top_k_accuracy(output, target, k=5),
    "macro_precision": lambda output, target: precision(target, output, average="macro"),
    "macro_recall": lambda output, target: recall(target, output, average="macro"),
    "macro_f1": lambda output, target: f1_score(target, output, average="macro"),
    "psnr": psnr,
}
