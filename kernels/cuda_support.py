"""CUDA kernels behind the registry: registered when CuPy imports, compiled on first use.

Each GPU kernel is a ``LazyCudaKernel`` (``lazy.py``): registering it imports
nothing; its first call imports the ``kernels/cuda_*.py`` module, and the
first launch on a device has NVRTC compile the module's source (CuPy caches
the binary on disk, ``~/.cupy/kernel_cache``, so later processes skip it).

What runs where, for CuPy arrays:

* float32 and float64 run the CUDA kernels; any other dtype (float16,
  integer max pooling) runs the reference code on the GPU, by design;
* arrays of 2**31 elements or more run the reference too (the kernels index
  with 32-bit ``int``);
* a kernel that fails to compile warns once (``CudaFallbackWarning``) and runs
  the reference from then on;
* ``kernels.use("reference")`` runs the reference on the GPU: the readable
  NumPy code with ``xp = cupy``, which is also what the tests compare against.

``CUDA_MODULES`` lists every CUDA source, for the compile checks
(``cuda_compile``) and the CPU emulator tests.
"""
from __future__ import annotations

import importlib

from .. import backend
from .lazy import KernelFallbackWarning, LazyKernel
from .registry import register

# kernel name -> module of this package that defines it (with the reference's signature)
CUDA_KERNELS = {
    "im2col": "cuda_im2col",
    "col2im": "cuda_im2col",
    "max_pool_forward": "cuda_pooling",
    "max_pool_backward": "cuda_pooling",
    "avg_pool_forward": "cuda_pooling",
    "avg_pool_backward": "cuda_pooling",
    "batch_norm_statistics": "cuda_batchnorm",
    "batch_norm_affine": "cuda_batchnorm",
    "batch_norm_backward": "cuda_batchnorm",
    "sgd_update": "cuda_optim",  # references in minicnn/optim/sgd.py and adam.py
    "adam_update": "cuda_optim",
}

# every module with CUDA source, and the name of its ``CudaModule``
CUDA_MODULES = {"cuda_im2col": "IM2COL", "cuda_pooling": "POOLING", "cuda_batchnorm": "BATCHNORM",
                "cuda_optim": "OPTIMIZERS"}


class CudaFallbackWarning(KernelFallbackWarning):
    """A CUDA kernel could not be compiled; the reference runs on the GPU instead."""


class LazyCudaKernel(LazyKernel):
    """The CUDA implementation of one kernel, loaded on its first call."""

    label = "CUDA"
    warning = CudaFallbackWarning

    def is_compile_error(self, error):
        """NVRTC's ``CompileException`` and the driver's refusal to load a module.

        Out-of-memory (a ``MemoryError``) is not one: it propagates.
        """
        kind = type(error)
        return kind.__name__ == "CompileException" or kind.__module__.startswith("cupy_backends.cuda.api.driver")


def cuda_modules():
    """Every ``CudaModule`` (importing the kernel modules needs neither CuPy nor a GPU)."""
    return [getattr(importlib.import_module(f"{__package__}.{module}"), name) for module, name in CUDA_MODULES.items()]


def register_cuda_kernels():
    """Register every kernel of ``CUDA_KERNELS`` as a lazy CUDA implementation (when CuPy is installed)."""
    if not backend.cupy_installed():
        return
    for name, module in CUDA_KERNELS.items():
        register(name, "cupy")(LazyCudaKernel(name, module))
