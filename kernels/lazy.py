"""``LazyKernel``: a fast implementation that loads on its first call and falls back safely.

The Numba (CPU) and CUDA (GPU) implementations of a kernel share one life:

* registered by name, without importing anything heavy (``import minicnn``
  stays fast and needs neither Numba nor a GPU);
* on the first call, the module that defines the kernel is imported;
* arguments the fast code does not handle (a dtype other than float32 and
  float64, arrays too large for 32-bit indices) run the reference, by design
  and silently: the module raises ``NotApplicable`` or the dtype check says so;
* when the fast code fails to import or to compile, the kernel warns **once**
  and runs the reference from then on, so a broken toolchain costs speed,
  never a crash or a wrong answer.

Subclasses say which errors count as "failed to compile" and which warning to give.
"""
from __future__ import annotations

import importlib
import warnings

from .registry import implementation

SUPPORTED_DTYPES = ("float32", "float64")


class KernelFallbackWarning(UserWarning):
    """A fast kernel could not be compiled; the reference runs instead."""


class NotApplicable(Exception):
    """Raised by a fast kernel for arguments it does not handle; the reference runs instead."""


class LazyKernel:
    """One fast implementation of kernel ``name``, defined in ``kernels/<module>.py``.

    ``kernel(*args)`` has the reference's signature; its first argument is the
    array whose dtype decides between the fast code and the reference.
    """

    label = "fast"  # how messages name this implementation
    warning = KernelFallbackWarning

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.compiled = None  # the fast function, once loaded

    @property
    def reference(self):
        """The reference implementation (looked up on use: it may be registered later,
        e.g. the optimizer updates by ``minicnn.optim``)."""
        return implementation(self.name, "reference")

    def is_compile_error(self, error):
        """Whether ``error`` means the fast code could not be built (not a bad argument)."""
        raise NotImplementedError

    def load(self):
        """Import the kernel's module; returns the function."""
        module = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(module, self.name)

    def fall_back(self, error):
        """Warn once and run the reference from now on."""
        warnings.warn(
            f"minicnn: the {self.label} kernel {self.name!r} failed to compile "
            f"({type(error).__name__}: {error}); using the reference implementation instead",
            self.warning,
            stacklevel=3,
        )
        self.compiled = self.reference

    def __call__(self, *args):
        if args[0].dtype.name not in SUPPORTED_DTYPES:
            return self.reference(*args)
        if self.compiled is None:
            try:
                self.compiled = self.load()
            except Exception as error:  # the toolchain is missing or the module fails to build
                self.fall_back(error)
        try:
            return self.compiled(*args)
        except NotApplicable:
            return self.reference(*args)
        except Exception as error:
            if not self.is_compile_error(error):  # a real error (bad arguments): not ours to hide
                raise
            self.fall_back(error)
            return self.reference(*args)

    def __repr__(self):
        state = "not loaded" if self.compiled is None else "reference fallback" if self.compiled is self.reference else "loaded"
        return f"<{self.label} kernel {self.name!r} from kernels/{self.module}.py, {state}>"
