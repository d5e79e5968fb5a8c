"""Kernel micro-benchmarks: every implementation of a kernel on the same inputs.

The shapes are those of the benchmark networks (LeNet-5's first convolution,
ResNet-20's first and last stages, a VGG pooling layer, a ResNet batch norm),
so a speed-up here is one that training sees.  Implementations run in turns,
round after round; the speed-up is the median of per-round ratios
reference time / implementation time.

On the CPU (``run_kernels(rounds)``) the contenders are the reference and
Numba.  ``im2col`` and ``col2im`` are timed twice per case, both
implementations alike:

* ``<case>, <n> chunks of <samples>``: the way the convolution calls them (``ops/conv.py``):
  the batch split by ``kernels.batch_chunks`` into chunks whose columns fit
  the cache block, one call per chunk, each writing into an ``out`` that is
  reused (im2col: the chunk's columns into the scratch buffer
  ``workspace.scratch``; col2im: from one chunk-sized column array, as the
  product leaves it in the cache, into the chunk's slice of the batch's
  gradient, allocated once before the timing).  One thread, chunk after
  chunk: the time of the whole batch on one core.  The reference copies its
  result into ``out``; that copy is part of its time;
* ``<case>, whole batch``: one call over the whole batch into a fresh
  result, so allocating and first touching the pages of a column matrix of
  up to 75 MB is part of both times.

Their rows say which in ``chunks`` (``"20 chunks of 6-7"``, ``"whole batch"``).  On the GPU (``run_kernels(rounds, device="cuda")``) they are the CuPy
kernel and the reference on the same GPU arrays, beside the CPU's fastest on
host copies of them (see ``run_gpu_kernels``).
"""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np

from .. import kernels
from ..kernels import workspace
from ..kernels.shapes import output_shape
from .timing import interleaved, median, median_ratio

# (label, x shape, kernel, stride, padding)
CONV_CASES = [
    ("lenet5 conv1 b64", (64, 1, 28, 28), (5, 5), (1, 1), (2, 2)),
    ("resnet20 stage1 b128", (128, 16, 32, 32), (3, 3), (1, 1), (1, 1)),
    ("resnet20 stage3 b128", (128, 64, 8, 8), (3, 3), (1, 1), (1, 1)),
]
POOL_CASES = [
    ("lenet5 pool1 b64", (64, 6, 28, 28), (2, 2), (2, 2), (0, 0)),
    ("vgg pool1 b128", (128, 64, 32, 32), (2, 2), (2, 2), (0, 0)),
]
BN_CASES = [("resnet20 stage1 b128", (128, 16, 32, 32))]
# the optimizers' fused in-place updates (registered by minicnn.optim), on one large weight
OPTIMIZER_CASES = [("vgg stage3 conv weight", (256, 256, 3, 3))]


def _implementations(name):
    """The CPU implementations to time: the reference, and Numba where it is installed."""
    return [impl for impl in kernels.available(name) if impl != "cupy"]


def _cpu_fastest(name):
    """The CPU's fastest implementation of ``name``: numba, or the reference without Numba."""
    return "numba" if "numba" in kernels.available(name) else "reference"


def _cases(rng):
    """(kernel name, case label, argument tuple) for every benchmarked call."""
    for label, shape, k, s, p in CONV_CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        d = (1,) * len(k)
        cols = kernels.implementation("im2col", "reference")(x, k, s, p, d)
        yield "im2col", label, (x, k, s, p, d)
        yield "col2im", label, (cols, shape, k, s, p, d)
        if len(k) == 2 and s == (1, 1):  # the strips of a stride-1 convolution (whole batch)
            yield "im2strips", label, (x, k, p, d)
    for label, shape, k, s, p in POOL_CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        d = (1,) * len(k)
        out, indices = kernels.implementation("max_pool_forward", "reference")(x, k, s, p, d, False)
        g = rng.standard_normal(out.shape, dtype=np.float32)
        yield "max_pool_forward", label, (x, k, s, p, d, False)
        yield "max_pool_backward", label, (g, indices, shape)
        yield "avg_pool_forward", label, (x, k, s, p, False, True)
        yield "avg_pool_backward", label, (g, shape, k, s, p, False, True)
    for label, shape in BN_CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        C = shape[1]
        mean, var = kernels.implementation("batch_norm_statistics", "reference")(x)
        inv_std = (1 / np.sqrt(var + 1e-5)).astype(np.float32)
        zeros = np.zeros(C, np.float32)
        yield "batch_norm_statistics", label, (x,)
        yield "batch_norm_affine", label, (x, mean, inv_std, zeros)
        yield "batch_norm_backward", label, (rng.standard_normal(shape, dtype=np.float32), x, mean, inv_std, inv_std)
        y = kernels.implementation("relu_forward", "reference")(x)
        yield "relu_forward", label, (x,)
        yield "relu_backward", label, (rng.standard_normal(shape, dtype=np.float32), y)
    for label, shape in OPTIMIZER_CASES:  # in place: repeated calls keep changing the arrays, as training does
        param, grad = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
        if kernels.available("sgd_update"):
            buf = grad.copy()
            yield "sgd_update", label, (param.copy(), grad, buf, 0.01, 0.9, 0.0, False, False)
        if kernels.available("adam_update"):
            m, v = 0.1 * grad, grad * grad
            yield "adam_update", label, (param.copy(), grad, m, v, None, 1e-3, 0.9, 0.999, 1e-8, 10)


def _conv_call(name, kernel, args):
    """``kernel`` (an im2col or col2im implementation) over the batch of ``args`` the way
    ``ops/conv.py`` calls it: chunk by chunk (``kernels.batch_chunks``), into a reused ``out``.
    Returns (the call, a description of the chunks)."""
    x_or_cols, *rest = args
    if name == "im2col":
        x = x_or_cols
        k, s, p, d = rest
    else:
        cols, x_shape, k, s, p, d = x_or_cols, *rest
        x = np.empty(x_shape, dtype=cols.dtype)  # col2im's result, one slice per chunk (allocated once)
    N, C, *spatial = x.shape
    K, L = math.prod(k), math.prod(output_shape(spatial, k, s, p, d))
    chunks = kernels.batch_chunks(N, C * K * L * x.itemsize, x)
    sizes = sorted({part.stop - part.start for part in chunks})
    described = f"{len(chunks)} chunk{'s' * (len(chunks) > 1)} of {'-'.join(map(str, sizes))}"
    if name == "im2col":
        def call():
            for part in chunks:
                n = part.stop - part.start
                kernel(x[part], k, s, p, d, workspace.scratch((n, C * K, L), x))
        return call, described
    chunk_cols = np.ascontiguousarray(cols[: sizes[-1]])  # one chunk's columns, reused (warm) for every chunk

    def call():
        for part in chunks:
            n = part.stop - part.start
            kernel(chunk_cols[:n], (n, *x_shape[1:]), k, s, p, d, x[part])
    return call, described


def _cpu_cases(rng):
    """The CPU suite's (kernel name, case label, {implementation: call}, extra row keys):
    im2col/col2im chunk by chunk and whole-batch (module docstring), the rest as in ``_cases``."""
    whole = []
    for name, label, args in _cases(rng):
        impls = _implementations(name)
        calls = {impl: partial(kernels.implementation(name, impl), *args) for impl in impls}
        if name not in ("im2col", "col2im"):
            yield from whole  # the conv cases' whole-batch rows, after their chunked ones
            whole = []
            yield name, label, calls, {}
            continue
        chunked = {impl: _conv_call(name, kernels.implementation(name, impl), args) for impl in impls}
        described = next(iter(chunked.values()))[1]
        yield name, f"{label}, {described}", {impl: c[0] for impl, c in chunked.items()}, {"chunks": described}
        whole.append((name, f"{label}, whole batch", calls, {"chunks": "whole batch"}))
    yield from whole


def run_kernels(rounds, log=print, device="cpu"):
    """One row per (kernel, case): the CPU suite, or with ``device="cuda"`` the GPU suite."""
    if device != "cpu":
        return run_gpu_kernels(rounds, log)
    rows = []
    for name, label, funcs, extra in _cpu_cases(np.random.default_rng(0)):
        impls = list(funcs)
        times = interleaved(funcs, rounds)
        row = {"kernel": name, "case": label, **extra}
        for impl, values in times.items():
            row[f"{impl}_ms"] = 1e3 * median(values)
            if impl != "reference":
                row[f"{impl}_speedup"] = median_ratio(times["reference"], values)
        log("  ".join([f"{name:<22} {label:<35}"] + [f"{impl} {row[f'{impl}_ms']:7.2f} ms" for impl in impls]
                      + [f"x{row[k]:.1f} ({k[:-8]})" for k in row if k.endswith("_speedup")]))
        rows.append(row)
    return rows


def run_gpu_kernels(rounds, log=print):
    """Each kernel on the GPU next to the CPU, in turns within each round.

    Three contenders per case: the ``cupy`` implementation on GPU arrays (left
    out, and its figures None, where the kernel has none), the ``reference``
    on the same GPU arrays (the readable ``xp`` code run by CuPy), and the
    CPU's fastest (``numba``, or the reference without Numba) on the host
    arrays.  Row keys:

    * ``cupy_ms``, ``reference_gpu_ms``, ``cpu_ms`` (``cpu_impl`` names it): medians;
    * ``cupy_speedup``: reference-on-GPU time / cupy time (median of per-round ratios);
    * ``gpu_vs_cpu``: CPU time / GPU time, the GPU's side being ``gpu_impl``
      (cupy where it exists, else the reference on the GPU);
    * ``<contender>_error``: the exception of a contender that failed (and was left out).
    """
    from .. import cuda

    rows = []
    for name, label, args in _cases(np.random.default_rng(0)):
        gpu_args = _to_gpu(args)
        funcs = {}
        if "cupy" in kernels.available(name):
            funcs["cupy"] = partial(kernels.implementation(name, "cupy"), *gpu_args)
        funcs["reference_gpu"] = partial(kernels.implementation(name, "reference"), *gpu_args)
        cpu_impl = _cpu_fastest(name)
        funcs["cpu"] = partial(kernels.implementation(name, cpu_impl), *args)
        syncs = {"cupy": cuda.synchronize, "reference_gpu": cuda.synchronize}
        row = {"kernel": name, "case": label, "cpu_impl": cpu_impl}
        for contender in ("cupy", "reference_gpu"):
            error = _first_call_error(funcs[contender], syncs[contender]) if contender in funcs else None
            if error is not None:
                row[f"{contender}_error"] = error
                del funcs[contender]
        times = interleaved(funcs, rounds, warmup=3, sync=syncs)
        for contender in ("cupy", "reference_gpu", "cpu"):
            row[f"{contender}_ms"] = 1e3 * median(times[contender]) if contender in times else None
        row["cupy_speedup"] = _ratio(times, "reference_gpu", "cupy")
        row["gpu_impl"] = "cupy" if "cupy" in times else "reference" if "reference_gpu" in times else None
        row["gpu_vs_cpu"] = _ratio(times, "cpu", "cupy" if "cupy" in times else "reference_gpu")
        log(_gpu_line(row))
        rows.append(row)
    return rows


def _to_gpu(args):
    """The arguments with every NumPy array copied to the GPU."""
    from ..backend import Device, to_device

    gpu = Device("cuda")
    return tuple(to_device(a, gpu) if isinstance(a, np.ndarray) else a for a in args)


def _first_call_error(func, sync):
    """Run ``func`` (a ``partial`` of a kernel) once: what went wrong as text, or None.

    Wrong is an exception, or a fast kernel that failed to compile and now runs
    the reference in its place (``kernels/lazy.py``), whose timing would
    pass the reference off as the CUDA kernel.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            func()
            sync()
    except Exception as exc:  # a failing GPU kernel must not end the whole benchmark
        return f"{type(exc).__name__}: {exc}"
    kernel = func.func
    compiled = getattr(kernel, "compiled", None)
    if compiled is not None and compiled is getattr(kernel, "reference", None):
        said = [str(w.message) for w in caught if "failed to compile" in str(w.message)]
        return "fell back to the reference" + (f" ({said[0]})" if said else " (it failed to compile)")
    return None


def _ratio(times, numerator, denominator):
    if numerator not in times or denominator not in times:
        return None
    return median_ratio(times[numerator], times[denominator])


def _gpu_line(row):
    def ms(key):
        return "      -" if row[key] is None else f"{row[key]:7.2f}"

    def times(key):
        return "    -" if row[key] is None else f"x{row[key]:<4.1f}"

    text = (f"{row['kernel']:<22} {row['case']:<22} cupy {ms('cupy_ms')} ms  reference(gpu) "
            f"{ms('reference_gpu_ms')} ms  {row['cpu_impl']}(cpu) {ms('cpu_ms')} ms  "
            f"cupy/reference {times('cupy_speedup')}  gpu/cpu {times('gpu_vs_cpu')}")
    errors = [f"{key[:-6]} failed: {row[key]}" for key in row if key.endswith("_error")]
    return "  ".join([text] + errors)
