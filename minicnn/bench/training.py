"""Whole-network benchmarks: one training step and one inference pass, minicnn beside PyTorch.

A training step is what a trainer does per batch, in float32::

    optimizer.zero_grad(); loss = cross_entropy(model(x), y); loss.backward(); optimizer.step()

with SGD, momentum 0.9.  Inference is ``model(x)`` in eval mode without a
graph (``no_grad``).  Both frameworks get the same architecture
(``minicnn.bench.models``), the same batch, the same thread count, and run in
turns within one process; each ratio is the median of per-round ratios.

With ``device="cuda"`` both frameworks run on the GPU (every clock read after
a device synchronize, see ``minicnn.bench.timing``) and minicnn also runs on
the CPU in the same rounds, for its own GPU-over-CPU speed-up.
"""
from __future__ import annotations

import numpy as np

from .models import NETWORKS, minicnn_model, parameter_count, torch_model
from .timing import interleaved, median, median_ratio


def _minicnn_step(name, batch, train, device="cpu"):
    import minicnn as mc
    from minicnn import nn, optim

    model, source = minicnn_model(name)
    model.to(device)
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((batch, *NETWORKS[name][1]), dtype=np.float32), device=device)
    y = mc.tensor(rng.integers(0, 10, batch), device=device)
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


def _torch_step(name, batch, train, device="cpu"):
    import torch

    model = torch_model(name).to(device)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, *NETWORKS[name][1]), dtype=np.float32)).to(device)
    y = torch.from_numpy(rng.integers(0, 10, batch)).to(device)
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


def torch_cuda_reason():
    """Why PyTorch cannot be timed on the GPU (None when it can: torch imports and sees CUDA)."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} has no CUDA device (a CPU-only build, or no driver)"
    return None


# PyTorch on the GPU: cuDNN's autotuner on (its fastest convolution for each shape), and TF32 off,
# so that its convolutions and matrix products compute in float32 as minicnn's do (CuPy's cuBLAS
# calls use TF32 only when CUPY_TF32=1 is set; PyTorch's cuDNN convolutions use it by default)
TORCH_GPU_SETTINGS = {"cudnn.benchmark": True, "cudnn.allow_tf32": False, "cuda.matmul.allow_tf32": False}


def configure_torch_gpu():
    """Apply ``TORCH_GPU_SETTINGS`` (``torch.backends.<name> = value``)."""
    import torch

    for name, value in TORCH_GPU_SETTINGS.items():
        *path, attribute = name.split(".")
        target = torch.backends
        for part in path:
            target = getattr(target, part)
        setattr(target, attribute, value)


def _syncs(device):
    """The ``sync`` of each framework on ``device`` (see ``timing``): device-wide waits on the GPU."""
    if device == "cpu":
        return {}
    from .. import cuda

    syncs = {"minicnn": cuda.synchronize}
    try:
        import torch
    except ImportError:
        return syncs
    if torch.cuda.is_available():
        syncs["torch"] = torch.cuda.synchronize
    return syncs


def bench_network(name, batch, train, rounds, with_torch=True, device="cpu", cpu_rounds=0):
    """One row of the table: minicnn (and PyTorch) time per batch, images/s, ratio.

    On ``device="cuda"`` both frameworks run on the GPU (PyTorch with cuDNN's
    autotuner on and TF32 off, ``TORCH_GPU_SETTINGS``), and with ``cpu_rounds``
    > 0 minicnn also runs on the CPU in the first ``cpu_rounds`` rounds, for
    the GPU-over-CPU speed-up ``gpu_speedup`` (CPU time / GPU time).
    """
    funcs = {}
    funcs["minicnn"], model, source = _minicnn_step(name, batch, train, device)
    row = {
        "model": name, "batch": batch, "mode": "train step" if train else "inference", "device": device,
        "minicnn_model": source, "parameters": parameter_count(model),
    }
    if with_torch:
        if device != "cpu":
            configure_torch_gpu()
        funcs["torch"], torch_model_ = _torch_step(name, batch, train, device)
        row["torch_parameters"] = parameter_count(torch_model_)
    rounds_of = dict.fromkeys(funcs, rounds)
    if device != "cpu" and cpu_rounds > 0:
        funcs["minicnn_cpu"], _, _ = _minicnn_step(name, batch, train, "cpu")
        rounds_of["minicnn_cpu"] = min(cpu_rounds, rounds)
    warmup = 2 if device == "cpu" else 3
    times = interleaved(funcs, rounds_of, warmup=warmup, sync=_syncs(device))
    for framework, values in times.items():
        row[f"{framework}_ms"] = 1e3 * median(values)
        row[f"{framework}_images_per_s"] = batch / median(values)
    if with_torch:
        row["ratio"] = median_ratio(times["minicnn"], times["torch"])  # minicnn time / PyTorch time
    if "minicnn_cpu" in times:
        row["gpu_speedup"] = median_ratio(times["minicnn_cpu"], times["minicnn"])  # CPU time / GPU time
    return row


def run_training(models, rounds, with_torch, log=print, device="cpu", cpu_rounds=0):
    """Every (model, batch) the issue asks for, as a training step and as inference."""
    rows = []
    for name in models:
        for batch in NETWORKS[name][2]:
            for train in (True, False):
                row = bench_network(name, batch, train, rounds, with_torch, device, cpu_rounds)
                log(_line(row))
                rows.append(row)
    return rows


def _line(row):
    where = "" if row.get("device", "cpu") == "cpu" else f" {row['device']}"
    text = f"{row['model']:<10} b{row['batch']:<4} {row['mode']:<11} minicnn{where} {row['minicnn_ms']:8.1f} ms"
    if "torch_ms" in row:
        text += f"  PyTorch{where} {row['torch_ms']:8.1f} ms  ratio {row['ratio']:.2f}"
    if "minicnn_cpu_ms" in row:
        text += f"  minicnn cpu {row['minicnn_cpu_ms']:8.1f} ms  GPU/CPU x{row['gpu_speedup']:.1f}"
    return text
