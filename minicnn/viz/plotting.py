"""Drawing: figures of tiles written as PNG files, with matplotlib imported lazily.

matplotlib comes with the ``viz`` extra (``pip install "minicnn[viz]"``);
``import minicnn.viz`` works without it, and only writing a picture needs it.
Figures are ``matplotlib.figure.Figure`` objects made and saved directly (no
pyplot), so nothing global changes (the backend of a notebook stays as it
is) and no figure is left open.

Every figure is a grid of square tiles of ``TILE`` inches saved at ``DPI``
dots per inch without trimming, so a picture of ``rows x cols`` tiles is
exactly ``cols * TILE * DPI`` pixels wide and ``rows * TILE * DPI`` high.

This module also holds the two plots about training, ``plot_history`` and
``plot_confusion_matrix``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

TILE = 1.5  # inches per tile
DPI = 100  # pixels per inch
MISSING_MATPLOTLIB = 'minicnn.viz needs matplotlib to draw pictures; install it with: pip install "minicnn[viz]"'


def _matplotlib():
    """The ``matplotlib`` module, or an ImportError that says how to install it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401  (Figure is used through matplotlib.figure)
    except ImportError as error:
        raise ImportError(MISSING_MATPLOTLIB) from error
    return matplotlib


def new_figure(rows, cols):
    """A blank figure of ``rows x cols`` tiles."""
    matplotlib = _matplotlib()
    return matplotlib.figure.Figure(figsize=(cols * TILE, rows * TILE), dpi=DPI)


def save(figure, path):
    """Write ``figure`` as a PNG at ``path`` (its folder is created if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI)
    return path


def grid_shape(count, max_cols=8):
    """``(rows, cols)`` for ``count`` tiles, at most ``max_cols`` per row."""
    cols = max(1, min(count, max_cols))
    return math.ceil(count / cols), cols


# ------------------------------------------------------------ image values for display
def display_image(image):
    """An image (C, H, W) or (H, W) as what ``imshow`` takes: (H, W) grey or (H, W, 3) RGB in [0, 1].

    Values already in [0, 1] are kept (a photo stays as it is); anything else
    is rescaled linearly from its own minimum and maximum.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    if image.min() < 0 or image.max() > 1:
        image = rescale(image)
    return image


def rescale(values):
    """``values`` mapped linearly onto [0, 1] (a constant array gives zeros)."""
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def show_tile(axis, values, title=None, cmap="gray", **imshow_args):
    """Draw one tile (an image or a map) without ticks."""
    axis.imshow(values, cmap=cmap, **imshow_args)
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=7)


def plot_tiles(tiles, path, titles=None, max_cols=8, cmap="gray", suptitle=None):
    """Write a grid of ``tiles`` (each (H, W) or (H, W, 3), shown as given) to ``path``."""
    rows, cols = grid_shape(len(tiles), max_cols)
    figure = new_figure(rows, cols)
    axes = figure.subplots(rows, cols, squeeze=False)
    for k, axis in enumerate(axes.flat):
        if k < len(tiles):
            show_tile(axis, tiles[k], titles[k] if titles else None, cmap=cmap)
        else:
            axis.axis("off")
    if suptitle:
        figure.suptitle(suptitle, fontsize=9)
    save(figure, path)


# ------------------------------------------------------------ training plots
def _history_series(history):
    """``{name: float array}`` of every numeric entry of a training history.

    ``history``: rows (a list of per-epoch dicts, as the trainer keeps them),
    columns (a dict of lists), the trainer's ``history.json``
    (``{"history": [rows...], ...}``) or the path of such a file.  A missing
    value, or null (how JSON writes nan), becomes nan.
    """
    if isinstance(history, (str, Path)):
        history = json.loads(Path(history).read_text())
    if isinstance(history, dict) and isinstance(history.get("history"), list):
        history = history["history"]
    if isinstance(history, list):
        names = list(dict.fromkeys(name for row in history for name in row))
        history = {name: [row.get(name) for row in history] for name in names}
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: expected rows, columns or a history.json, got {type(history).__name__}")
    series = {}
    for name, values in history.items():
        if isinstance(values, list) and values and any(_is_number(v) for v in values) \
                and all(_is_number(v) or v is None for v in values):
            series[name] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if not series:
        raise ValueError(f"plot_history: no numeric series in the history (keys: {', '.join(map(str, history))})")
    return series


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _metric_name(name):
    """``train_loss`` and ``val_loss`` share the panel ``loss``."""
    for prefix in ("train_", "val_", "valid_", "test_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def plot_history(history, path):
    """One panel per metric (loss, accuracy, ...) with its training and validation curves.

    ``history``: the trainer's history (``{"train_loss": [...], "val_loss":
    [...], ...}``, or a list of per-epoch dicts, or the path of its JSON
    file).  An ``epoch`` entry, when present, gives the x axis.  Returns the
    numeric series as ``{name: array}``.
    """
    series = _history_series(history)
    epochs = series.pop("epoch", None)
    panels = {}
    for name in series:
        panels.setdefault(_metric_name(name), []).append(name)
    figure = new_figure(2, 2 * len(panels))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (metric, names) in zip(axes, panels.items()):
        for name in names:
            values = series[name]
            x = epochs if epochs is not None and len(epochs) == len(values) else np.arange(1, len(values) + 1)
            axis.plot(x, values, marker="o", markersize=3, label=name)
        axis.set_title(metric)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    save(figure, path)
    if epochs is not None:
        series["epoch"] = epochs
    return series


def plot_confusion_matrix(matrix, path, class_names=None, normalize=False):
    """Draw a confusion matrix: rows are the true classes, columns the predicted ones.

    ``matrix``: (K, K) counts.  ``normalize=True`` divides each row by its
    total (each true class sums to 1: the diagonal is the per-class recall).
    Cells are annotated when K <= 20.  Returns the matrix drawn.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square (K, K) matrix, got shape {matrix.shape}")
    k = matrix.shape[0]
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"plot_confusion_matrix: {len(class_names)} class names for a {k}x{k} matrix")
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    names = [str(name) for name in class_names] if class_names is not None else [str(i) for i in range(k)]
    side = max(3, math.ceil(k * 0.4 / TILE) + 1)
    figure = new_figure(side, side)
    axis = figure.subplots()
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(k), names, fontsize=7, rotation=90 if k > 10 else 0)
    axis.set_yticks(range(k), names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if k <= 20:
        threshold = matrix.max() / 2
        for i in range(k):
            for j in range(k):
                text = f"{matrix[i, j]:.2f}" if normalize else f"{matrix[i, j]:.0f}"
                axis.text(j, i, text, ha="center", va="center", fontsize=6,
                          color="white" if matrix[i, j] > threshold else "black")
    figure.tight_layout()
    save(figure, path)
    return matrix
