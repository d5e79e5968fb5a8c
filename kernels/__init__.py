"""``minicnn.kernels``: the hot paths, each as reference / Numba / CuPy implementations.

    from minicnn import kernels
    kernels.use("numpy")                      # the readable reference everywhere
    cols = kernels.get("im2col", x)(x, ...)   # the implementation for x's device
    kernels.set_workspace_limit(64 << 20)     # cap im2col's column matrix at 64 MiB
    kernels.set_block_size(4 << 20)           # CPU convolutions: chunks of columns that fit the cache
    kernels.set_chunk_threads(1)              # ... run one after the other (default: one per core)

See ``registry`` for how the choice is made, ``numba_support`` and
``cuda_support`` for how the Numba and CUDA kernels load (lazily: importing
minicnn imports no Numba and compiles nothing) and
``workspace`` for the im2col memory budget.
"""
from .registry import available, choose, current, get, implementation, register, use
from .workspace import (  # noqa: F401
    batch_chunks, block_size, chunk_threads, set_block_size, set_chunk_threads, set_workspace_limit,
    workspace_limit,
)

# importing the kernel modules registers their reference implementations ...
from . import activation, batchnorm, im2col, pooling  # noqa: E402,F401
# ... and then the Numba and CUDA ones, as lazy wrappers (Numba is imported,
# CUDA code compiled, on first use)
from .lazy import KernelFallbackWarning  # noqa: E402,F401
from .numba_support import NumbaFallbackWarning, register_numba_kernels  # noqa: E402
from .cuda_support import CudaFallbackWarning, register_cuda_kernels  # noqa: E402

register_numba_kernels()
register_cuda_kernels()
