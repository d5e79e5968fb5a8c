"""``minicnn.kernels``: the hot paths, each as reference / Numba / CuPy implementations.

    from minicnn import kernels
    kernels.use("numpy")                      # the readable reference everywhere
    cols = kernels.get("im2col", x)(x, ...)   # the implementation for x's device

See ``registry`` for how the choice is made.
"""
from .registry import available, choose, current, get, implementation, register, use

# importing the kernel modules registers their implementations
from . import im2col, pooling  # noqa: E402,F401
