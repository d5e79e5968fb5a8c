"""What every benchmark reports beside its figures: the machine, the BLAS that ran, the threads."""
from __future__ import annotations

import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_description():
    """Which BLAS NumPy calls, its kernel (architecture) and thread count (threadpoolctl)."""
    import numpy  # noqa: F401  (loads the BLAS, so that threadpoolctl can see it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} kernel={p.get('architecture')} threads={p.get('num_threads')}"
        for p in pools
    ) or "no BLAS found by threadpoolctl"


def distribution_version(import_name):
    """The installed version of the package imported as ``import_name``, found without importing it.

    CuPy comes as ``cupy``, ``cupy-cuda12x``, ``cupy-cuda13x``, ...; all are imported as ``cupy``.
    """
    from importlib import metadata

    for distribution in metadata.packages_distributions().get(import_name, []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def gpu_description(index=0):
    """The GPU the benchmark ran on: its name (as the driver gives it), the GPU count, and the
    CUDA and cuDNN versions of PyTorch where PyTorch sees the GPU (its comparison column)."""
    from .. import backend

    info = {
        "name": backend.cuda_device_name(index),
        "index": index,
        "count": backend.cuda_device_count(),
        "cupy": distribution_version("cupy"),
    }
    try:
        import torch
    except ImportError:
        return info
    if torch.cuda.is_available():
        info["torch_cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def machine_description(threads=None, device="cpu"):
    """A dict for the JSON output (and the Markdown header); with ``gpu`` when ``device`` is cuda."""
    import numpy

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "blas": blas_description(),
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ},
    }
    for package in ("numba", "torch"):
        try:
            info[package] = __import__(package).__version__
        except ImportError:
            info[package] = None
    info["cupy"] = distribution_version("cupy")  # (cupy is imported by minicnn.backend alone)
    if device != "cpu":
        info["gpu"] = gpu_description()
    return info


def set_threads(threads):
    """Use ``threads`` threads in NumPy's BLAS and in PyTorch (when importable)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
