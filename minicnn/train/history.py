"""The training history: one row per epoch, written as JSON, CSV and a PNG plot.

A row is a flat dict such as::

    {"epoch": 3, "lr": 0.04, "train_loss": 0.12, "train_accuracy": 0.96,
     "val_loss": 0.09, "val_accuracy": 0.97, "time_s": 1.4, "images_per_s": 2850.0}

``history.json`` holds ``{"history": [rows...], **summary}``; ``history.csv``
the same rows (columns in order of first appearance); ``history.png`` the
losses and every other metric against the epoch.  Files are written
atomically (a temporary file renamed over the old one), so a crash never
leaves half a file.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
import warnings


def columns(rows):
    """The keys of ``rows``, in order of first appearance."""
    names = []
    for row in rows:
        names.extend(key for key in row if key not in names)
    return names


def _write_atomic(path, text):
    tmp = f"{path}.tmp-{secrets.token_hex(4)}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _json_safe(value):
    """JSON has no nan/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(rows, path, **summary):
    data = {"history": [{k: _json_safe(v) for k, v in row.items()} for row in rows]}
    data.update({k: _json_safe(v) for k, v in summary.items()})
    _write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_csv(rows, path):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomic(path, buffer.getvalue())


def plot(rows, path, title=None, best_epoch=None):
    """Plot losses (left) and the other metrics (right) against the epoch; returns False without matplotlib.

    ``best_epoch`` draws a dashed line at the epoch whose weights were kept.

    Uses matplotlib's object API (``Figure``), so no pyplot backend is
    touched: this works headless and inside applications alike.
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        warnings.warn('history plot skipped: matplotlib is not installed (pip install "minicnn[viz]")', stacklevel=2)
        return False
    names = columns(rows)
    epochs = [row["epoch"] for row in rows]
    metrics = sorted({n.split("_", 1)[1] for n in names if n.startswith(("train_", "val_"))} - {"loss"})
    panels = [("loss", "loss")] + [(m, m.replace("_", " ")) for m in metrics]
    fig = Figure(figsize=(5 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, label) in zip(axes, panels):
        for split, style in (("train", "-o"), ("val", "-s")):
            key = f"{split}_{metric}"
            if key in names:
                values = [row.get(key, float("nan")) for row in rows]
                ax.plot(epochs, values, style, markersize=3, label=split)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="gray", linestyle="--", linewidth=1, label=f"best (epoch {best_epoch})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    tmp = f"{path}.tmp-{secrets.token_hex(4)}.png"
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return True
