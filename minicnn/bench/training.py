"""Whole-network benchmarks: one training step and one inference pass, minicnn beside PyTorch.

A training step is what a trainer does per batch, in float32::

    optimizer.zero_grad(); loss = cross_entropy(model(x), y); loss.backward(); optimizer.step()

with SGD, momentum 0.9.  Inference is ``model(x)`` in eval mode without a
graph (``no_grad``).  Both frameworks get the same architecture
(``minicnn.bench.models``), the same batch, the same thread count, and run in
turns within one process; each ratio is the median of per-round ratios.
"""
from __future__ import annotations

import numpy as np

from .models import NETWORKS, minicnn_model, parameter_count, torch_model
from .timing import interleaved, median, median_ratio


def _minicnn_step(name, batch, train):
    import minicnn as mc
    from minicnn import nn, optim

    model, source = minicnn_model(name)
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((batch, *NETWORKS[name][1]), dtype=np.float32))
    y = mc.tensor(rng.integers(0, 10, batch))
    if not train:
        model.eval()

        def infer():
            with mc.no_grad():
                model(x)

        return infer, model, source
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step, model, source


def _torch_step(name, batch, train):
    import torch

    model = torch_model(name)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, *NETWORKS[name][1]), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch))
    if not train:
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)

        return infer, model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step, model


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def bench_network(name, batch, train, rounds, with_torch=True):
    """One row of the table: minicnn (and PyTorch) time per batch, images/s, ratio."""
    funcs = {}
    funcs["minicnn"], model, source = _minicnn_step(name, batch, train)
    row = {
        "model": name, "batch": batch, "mode": "train step" if train else "inference",
        "minicnn_model": source, "parameters": parameter_count(model),
    }
    if with_torch:
        funcs["torch"], torch_model_ = _torch_step(name, batch, train)
        row["torch_parameters"] = parameter_count(torch_model_)
    times = interleaved(funcs, rounds)
    for framework, values in times.items():
        row[f"{framework}_ms"] = 1e3 * median(values)
        row[f"{framework}_images_per_s"] = batch / median(values)
    if with_torch:
        row["ratio"] = median_ratio(times["minicnn"], times["torch"])  # minicnn time / PyTorch time
    return row


def run_training(models, rounds, with_torch, log=print):
    """Every (model, batch) the issue asks for, as a training step and as inference."""
    rows = []
    for name in models:
        for batch in NETWORKS[name][2]:
            for train in (True, False):
                row = bench_network(name, batch, train, rounds, with_torch)
                log(_line(row))
                rows.append(row)
    return rows


def _line(row):
    text = f"{row['model']:<10} b{row['batch']:<4} {row['mode']:<11} minicnn {row['minicnn_ms']:8.1f} ms"
    if "torch_ms" in row:
        text += f"  PyTorch {row['torch_ms']:8.1f} ms  ratio {row['ratio']:.2f}"
    return text
