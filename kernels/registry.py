"""The kernel registry: one name, up to three implementations, one choice.

Every hot-path kernel (``im2col``, ``max_pool2d_forward``, ...) is registered
under its name by up to three same-signature implementations:

* ``reference``: readable, vectorised array code written against ``xp``; runs on
  NumPy and CuPy alike, is the specification, and is the tests' oracle;
* ``numba``: the CPU fast path (compiled lazily, cached on disk);
* ``cupy``: the GPU fast path (``ElementwiseKernel``/``RawKernel``).

``get(name, array)`` picks by the array's device and the current setting:

=================  ==========================  ===========================
setting            CPU arrays                  GPU arrays
=================  ==========================  ===========================
``auto``           numba if registered         cupy if registered
``numba``          numba (error if missing)    cupy if registered
``numpy``          reference                   reference
``reference``      reference                   reference
=================  ==========================  ===========================

The setting comes from ``use(name)`` or, at import, ``MINICNN_KERNELS``.
Implementations that fail to import (no Numba, no CuPy) are simply not
registered, and ``auto`` falls back to the reference.
"""
from __future__ import annotations

import os

from ..backend import is_gpu_array

IMPLEMENTATIONS = ("reference", "numba", "cupy")
SETTINGS = ("auto", "numba", "numpy", "reference")

_kernels: dict[str, dict[str, object]] = {}
_setting = "auto"


def register(name, implementation):
    """Decorator: ``@register("im2col", "reference")`` adds a function under ``name``."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"register: implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")

    def add(func):
        _kernels.setdefault(name, {})[implementation] = func
        return func

    return add


def use(setting):
    """Choose the kernels: ``"auto"`` (fastest available), ``"numba"``, ``"numpy"``
    or ``"reference"`` (the readable NumPy/CuPy code on both devices)."""
    global _setting
    if setting not in SETTINGS:
        raise ValueError(f"kernels.use: expected one of {SETTINGS}, got {setting!r}")
    _setting = setting


def current():
    """The current setting (see ``use``)."""
    return _setting


def choose(name, on_gpu):
    """Which implementation ``get`` would pick for kernel ``name``."""
    impls = _kernels.get(name)
    if not impls:
        raise KeyError(f"no kernel named {name!r}; known: {sorted(_kernels)}")
    if _setting in ("numpy", "reference"):
        return "reference"
    if on_gpu:
        return "cupy" if "cupy" in impls else "reference"
    if "numba" in impls:
        return "numba"
    if _setting == "numba" and name in _numba_expected:
        raise RuntimeError(f"kernel {name!r}: the numba implementation is not available (is Numba installed?)")
    return "reference"


def get(name, array):
    """The implementation of kernel ``name`` for ``array``'s device and the setting."""
    return _kernels[name][choose(name, is_gpu_array(array))]


def implementation(name, which):
    """One implementation by its name (for tests and benchmarks)."""
    try:
        return _kernels[name][which]
    except KeyError:
        raise KeyError(
            f"kernel {name!r} has no {which!r} implementation; it has {sorted(_kernels.get(name, {}))}"
        ) from None


def available(name=None):
    """``{kernel: [implementations]}``, or the list for one kernel."""
    if name is not None:
        return sorted(_kernels.get(name, {}), key=IMPLEMENTATIONS.index)
    return {k: sorted(v, key=IMPLEMENTATIONS.index) for k, v in sorted(_kernels.items())}


# kernels for which a Numba version exists in this release (filled by kernels/numba_*.py)
_numba_expected: set[str] = set()

_env = os.environ.get("MINICNN_KERNELS")
if _env:
    use(_env.strip().lower())
