"""Numba kernels behind the registry, compiled on first use and cached on disk.

``import minicnn`` must stay fast and must not import Numba (which takes about
half a second and compiles nothing useful until a kernel runs).  So the Numba
implementations are registered as ``LazyNumbaKernel`` objects (``lazy.py``):
small callables that know *where* the kernel lives (``kernels/numba_im2col.py``,
...) and import that module, and with it Numba, on their first call.

Compilation.  The kernels are ``@njit(cache=True)``: the first call for a
dtype compiles (about a second per kernel) and writes the machine code to
Numba's cache, ``__pycache__`` beside the kernel file; where that directory is
read-only (an installed package), Numba falls back to a per-user cache
(``~/.cache/numba`` or ``$NUMBA_CACHE_DIR`` when set).  Later processes load
the cached code in milliseconds.

What runs where:

* float32 and float64 arrays run the Numba code; any other dtype (float16,
  integers for max pooling) runs the reference, by design (documented
  fallback, no warning);
* when Numba is not installed nothing is registered, and the registry's
  ``auto`` setting picks the reference;
* when a kernel fails to import or to compile, it warns **once**
  (``NumbaFallbackWarning``) and from then on runs the reference.
"""
from __future__ import annotations

import importlib.util

from .lazy import SUPPORTED_DTYPES, KernelFallbackWarning, LazyKernel  # noqa: F401 (re-exported)
from .registry import _numba_expected, register

# kernel name -> module in this package that defines it (with the reference's signature).
# ``auto`` runs every kernel listed here, so each must beat the reference: all
# of them do on every case of ``python -m minicnn.bench --suite kernels``
# (x1.2 to x20, docs/benchmarks.md).  A kernel that measures slower is taken
# off this list, not left for ``auto`` to run.
NUMBA_KERNELS = {
    "im2col": "numba_im2col",
    "col2im": "numba_im2col",
    "im2strips": "numba_im2col",
    "max_pool_forward": "numba_pooling",
    "max_pool_backward": "numba_pooling",
    "avg_pool_forward": "numba_pooling",
    "avg_pool_backward": "numba_pooling",
    "batch_norm_statistics": "numba_batchnorm",
    "batch_norm_affine": "numba_batchnorm",
    "batch_norm_backward": "numba_batchnorm",
    "relu_forward": "numba_activation",
    "relu_backward": "numba_activation",
}


class NumbaFallbackWarning(KernelFallbackWarning):
    """A Numba kernel could not be compiled; the reference runs instead."""


def numba_installed():
    """Whether Numba can be imported, found without importing it."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["numba"] = None, which blocks the import
        return False


class LazyNumbaKernel(LazyKernel):
    """The Numba implementation of one kernel, loaded (with Numba) on its first call."""

    label = "Numba"
    warning = NumbaFallbackWarning

    def is_compile_error(self, error):
        """Numba's typing and lowering errors come from the ``numba`` package."""
        return type(error).__module__.startswith("numba")


def register_numba_kernels():
    """Register every kernel of ``NUMBA_KERNELS`` as a lazy Numba implementation."""
    if not numba_installed():
        return
    for name, module in NUMBA_KERNELS.items():
        register(name, "numba")(LazyNumbaKernel(name, module))
        _numba_expected.add(name)
