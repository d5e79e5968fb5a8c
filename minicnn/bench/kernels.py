"""Kernel micro-benchmarks: every implementation of a kernel on the same inputs.

The shapes are those of the benchmark networks (LeNet-5's first convolution,
ResNet-20's first and last stages, a VGG pooling layer, a ResNet batch norm),
so a speed-up here is one that training sees.  Implementations run in turns,
round after round; the speed-up is the median of per-round ratios
reference time / implementation time.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..backend import cuda_is_available
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


def _implementations(name):
    """The implementations to time: reference, numba, and cupy where a GPU is there."""
    return [impl for impl in kernels.available(name) if impl != "cupy" or cuda_is_available()]


def _cases(rng):
    """(kernel name, case label, argument tuple) for every benchmarked call."""
    for label, shape, k, s, p in CONV_CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        d = (1,) * len(k)
        cols = kernels.implementation("im2col", "reference")(x, k, s, p, d)
        yield "im2col", label, (x, k, s, p, d)
        yield "col2im", label, (cols, shape, k, s, p, d)
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
        ones, zeros = np.ones(C, np.float32), np.zeros(C, np.float32)
        _, xhat = kernels.implementation("batch_norm_normalize", "reference")(x, mean, inv_std, ones, zeros)
        yield "batch_norm_statistics", label, (x,)
        yield "batch_norm_normalize", label, (x, mean, inv_std, ones, zeros)
        yield "batch_norm_backward", label, (x, xhat, inv_std)


def _on_device(args, impl):
    """Move the array arguments to the GPU for the cupy implementation."""
    if impl != "cupy":
        return args
    import cupy

    return tuple(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args)


def run_kernels(rounds, log=print):
    rows = []
    for name, label, args in _cases(np.random.default_rng(0)):
        impls = _implementations(name)
        funcs = {}
        for impl in impls:
            func, impl_args = kernels.implementation(name, impl), _on_device(args, impl)
            funcs[impl] = _synchronised(lambda func=func, impl_args=impl_args: func(*impl_args), impl)
        times = interleaved(funcs, rounds)
        row = {"kernel": name, "case": label}
        for impl, values in times.items():
            row[f"{impl}_ms"] = 1e3 * median(values)
            if impl != "reference":
                row[f"{impl}_speedup"] = median_ratio(times["reference"], values)
        log("  ".join([f"{name:<22} {label:<22}"] + [f"{impl} {row[f'{impl}_ms']:7.2f} ms" for impl in impls]
                      + [f"x{row[k]:.1f} ({k[:-8]})" for k in row if k.endswith("_speedup")]))
        rows.append(row)
    return rows


def _synchronised(func, impl):
    """GPU work is asynchronous: wait for it so that the timing covers it."""
    if impl != "cupy":
        return func
    import cupy

    def run():
        func()
        cupy.cuda.get_current_stream().synchronize()

    return run
