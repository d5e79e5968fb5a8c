"""Numba kernels behind the registry, compiled on first use and cached on disk.

``import minicnn`` must stay fast and must not import Numba (which takes about
half a second and compiles nothing useful until a kernel runs).  So the Numba
implementations are registered as ``LazyNumbaKernel`` objects: small callables
that know *where* the kernel lives (``kernels/numba_im2col.py``, ...) and
import that module, and with it Numba, on their first call.

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

import importlib
import importlib.util
import warnings

from .registry import _numba_expected, implementation, register

SUPPORTED_DTYPES = ("float32", "float64")

# kernel name -> module in this package that defines it (with the reference's signature).
# ``auto`` runs every kernel listed here, so each must beat the reference: all
# of them do on every case of ``python -m minicnn.bench --suite kernels``
# (x1.2 to x20, docs/benchmarks.md).  A kernel that measures slower is taken
# off this list, not left for ``auto`` to run.
NUMBA_KERNELS = {
    "im2col": "numba_im2col",
    "col2im": "numba_im2col",
    "max_pool_forward": "numba_pooling",
    "max_pool_backward": "numba_pooling",
    "avg_pool_forward": "numba_pooling",
    "avg_pool_backward": "numba_pooling",
    "batch_norm_statistics": "numba_batchnorm",
    "batch_norm_normalize": "numba_batchnorm",
    "batch_norm_backward": "numba_batchnorm",
}


class NumbaFallbackWarning(UserWarning):
    """A Numba kernel could not be compiled; the reference runs instead."""


def numba_installed():
    """Whether Numba can be imported, found without importing it."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["numba"] = None, which blocks the import
        return False


def _is_numba_error(error):
    return type(error).__module__.startswith("numba")


class LazyNumbaKernel:
    """The Numba implementation of one kernel, loaded on its first call.

    ``kernel(*args)`` has the reference's signature; its first argument is the
    array whose dtype decides between the Numba code and the reference.
    """

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.reference = implementation(name, "reference")
        self.compiled = None  # the Numba-backed function, once loaded

    def load(self):
        """Import the kernel's module (and Numba); returns the function."""
        module = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(module, self.name)

    def fall_back(self, error):
        """Warn once and run the reference from now on."""
        warnings.warn(
            f"minicnn: the Numba kernel {self.name!r} failed to compile "
            f"({type(error).__name__}: {error}); using the NumPy reference instead",
            NumbaFallbackWarning,
            stacklevel=3,
        )
        self.compiled = self.reference

    def __call__(self, *args):
        if args[0].dtype.name not in SUPPORTED_DTYPES:
            return self.reference(*args)
        if self.compiled is None:
            try:
                self.compiled = self.load()
            except Exception as error:  # no working Numba, or a module that fails to build
                self.fall_back(error)
        try:
            return self.compiled(*args)
        except Exception as error:
            if not _is_numba_error(error):  # a real error (bad arguments): not ours to hide
                raise
            self.fall_back(error)  # typing/lowering failed for these argument types
            return self.reference(*args)

    def __repr__(self):
        state = "not loaded" if self.compiled is None else "reference fallback" if self.compiled is self.reference else "loaded"
        return f"<numba kernel {self.name!r} from kernels/{self.module}.py, {state}>"


def register_numba_kernels():
    """Register every kernel of ``NUMBA_KERNELS`` as a lazy Numba implementation."""
    if not numba_installed():
        return
    for name, module in NUMBA_KERNELS.items():
        register(name, "numba")(LazyNumbaKernel(name, module))
        _numba_expected.add(name)
