"""The one place that knows which array library holds the numbers.

minicnn runs on NumPy (``cpu``) and on CuPy (``cuda``, ``cuda:N``).  Code above
this module never imports either library for its own sake: it asks
``get_array_module(x)`` for the module ``xp`` that owns an array and writes
``xp.exp(x)``, so the same line runs on both.  This module also owns

* devices: ``Device`` objects and the strings ``"cpu"``, ``"cuda"``, ``"cuda:N"``;
* dtypes: the default floating dtype (float32, as in PyTorch);
* randomness: one generator per device, all seeded by ``manual_seed``;
* out-of-memory: the allocation errors of both libraries, and the one error
  (``OutOfMemoryError``) that minicnn raises for them, naming the op.

CuPy is optional.  Without it (or without a visible GPU) everything works on the
CPU, ``cuda_is_available()`` is False and a ``cuda`` request raises
``DeviceError`` with the reason.
"""
from __future__ import annotations

import re

import numpy

try:  # the only import of cupy in minicnn
    import cupy as _cupy
except Exception as _exc:  # ImportError, or a broken CUDA install
    _cupy = None
    _cupy_import_error = f"{type(_exc).__name__}: {_exc}"
else:
    _cupy_import_error = None


class DeviceError(RuntimeError):
    """A device was asked for that does not exist here, or devices were mixed."""


class OutOfMemoryError(MemoryError):
    """An op ran out of memory (host RAM on the CPU, GPU memory on a GPU).

    Raised by ``Function.apply`` and the backward engine in place of NumPy's
    ``MemoryError`` or CuPy's ``cupy.cuda.memory.OutOfMemoryError``, with the op,
    its input shapes, the device and the requested size in the message; the
    library's own error is kept as ``__cause__``.  Attributes: ``op`` (e.g.
    ``"ConvNd.forward"``), ``device`` and ``requested_bytes`` (None when the
    library did not say).  It is a ``MemoryError``, so handlers of that still work.
    """

    def __init__(self, message, op=None, device=None, requested_bytes=None):
        super().__init__(message)
        self.op, self.device, self.requested_bytes = op, device, requested_bytes


# --------------------------------------------------------------------- devices
class Device:
    """A place where arrays live: ``Device("cpu")``, ``Device("cuda:1")``.

    Compares equal to its string form, so ``t.device == "cpu"`` works.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, number = spec.strip().lower().partition(":")
        if kind not in ("cpu", "cuda"):
            raise DeviceError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        if number:
            if not number.isdigit():
                raise DeviceError(f"unknown device {spec!r}: the index after ':' must be an integer")
            if index is not None and int(number) != index:
                raise DeviceError(f"device {spec!r} given with a different index={index}")
            index = int(number)
        if kind == "cpu":
            if index not in (None, 0):
                raise DeviceError(f"unknown device {spec!r}: there is only one cpu device")
            index = None
        elif index is None:
            index = 0
        self.type = kind
        self.index = index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device({str(self)!r})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except (DeviceError, TypeError):
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = Device("cpu")


def cuda_unavailable_reason():
    """Why ``cuda`` cannot be used here, or None when it can."""
    if _cupy is None:
        return (
            "CuPy is not installed (" + str(_cupy_import_error) + "). Install the GPU extra, "
            "pip install \"minicnn[gpu]\", or the prebuilt wheel for your CUDA: "
            "pip install cupy-cuda12x (CUDA 12) or pip install cupy-cuda13x (CUDA 13)"
        )
    try:
        count = _cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, no device
        return f"CuPy is installed but sees no CUDA device ({type(exc).__name__}: {exc})"
    if count == 0:
        return "CuPy is installed but sees no CUDA device"
    return None


def cupy_installed():
    """Whether CuPy imported (a GPU may still be missing: see ``cuda_is_available``)."""
    return _cupy is not None


def cupy_raw_module(source, options, name_expressions):
    """``cupy.RawModule`` for CUDA C++ ``source``; NVRTC compiles it on first use (kernels/cuda_module.py)."""
    return _cupy.RawModule(code=source, options=tuple(options), name_expressions=tuple(name_expressions))


def cuda_is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_unavailable_reason() is None


def cuda_device_count():
    """Number of GPUs CuPy sees (0 without CuPy)."""
    return 0 if not cuda_is_available() else _cupy.cuda.runtime.getDeviceCount()


def cuda_device_name(index=0):
    """The name the driver gives GPU ``index`` ("NVIDIA H100 80GB HBM3"); None without a GPU."""
    if not cuda_is_available():
        return None
    name = _cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def as_device(spec):
    """Turn ``"cuda:1"``, ``Device`` or None (cpu) into a usable ``Device``.

    Raises ``DeviceError`` saying why when a GPU is asked for and cannot be had.
    """
    if spec is None:
        return CPU
    device = spec if isinstance(spec, Device) else Device(spec)
    if device.type == "cuda":
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise DeviceError(f"cannot use device '{device}': {reason}")
        count = _cupy.cuda.runtime.getDeviceCount()
        if device.index >= count:
            visible = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
            raise DeviceError(
                f"cannot use device '{device}': CuPy sees {count} GPU{'s' if count != 1 else ''} "
                f"here ({visible})"
            )
    return device


# --------------------------------------------------------------- array modules
def get_array_module(array):
    """The module (``numpy`` or ``cupy``) that owns ``array``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return numpy


def array_module(device):
    """The module that stores arrays on ``device`` (a ``Device``)."""
    return numpy if device.type == "cpu" else _cupy


def is_gpu_array(array):
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def device_of(array):
    """The ``Device`` an array lives on."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return Device("cuda", array.device.id)
    return CPU


def to_device(array, device):
    """Copy ``array`` to ``device`` (no copy when it is already there).

    ``cupy.asarray`` leaves an array on another GPU where it is, so an array
    that must go from one GPU to another is copied with ``copy()``, which
    writes to the current device.
    """
    if device.type == "cpu":
        return _cupy.asnumpy(array) if is_gpu_array(array) else array
    with _cupy.cuda.Device(device.index):
        if is_gpu_array(array) and array.device.id != device.index:
            return array.copy()
        return _cupy.asarray(array)


def to_numpy(array):
    """A NumPy array with the values of ``array`` (copied from the GPU if needed)."""
    return _cupy.asnumpy(array) if is_gpu_array(array) else numpy.asarray(array)


def scatter_add(target, key, values):
    """``target[key] += values`` in place, adding the values of repeated indices.

    Plain ``target[key] += values`` would keep only one of the values for an
    index that occurs twice; ``numpy.add.at`` (``cupyx.scatter_add`` on the GPU)
    adds all of them.  Keys without index arrays cannot repeat, so they take
    the fast path.
    """
    parts = key if isinstance(key, tuple) else (key,)
    if not any(hasattr(k, "shape") or isinstance(k, list) for k in parts):
        target[key] += values
    elif is_gpu_array(target):
        import cupyx

        cupyx.scatter_add(target, key, values)
    else:
        numpy.add.at(target, key, values)


def ignore_float_errors(xp):
    """``numpy.errstate(all="ignore")``: silence divide-by-zero/invalid warnings on
    purpose (CuPy never warns, so there it is a no-op context)."""
    return xp.errstate(all="ignore") if xp is numpy else _NullContext()


def gpu_context(device):
    """Context manager making ``device`` current for CuPy allocations."""
    if device.type == "cuda":
        return _cupy.cuda.Device(device.index)
    return _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------- out of memory
#: What an allocation raises: NumPy's ``MemoryError`` (its ``_ArrayMemoryError``
#: names the shape and dtype) and, with CuPy, ``cupy.cuda.memory.OutOfMemoryError``
#: (a ``MemoryError`` subclass too, listed for clarity).
OUT_OF_MEMORY_ERRORS = (MemoryError,) if _cupy is None else (MemoryError, _cupy.cuda.memory.OutOfMemoryError)


def _format_bytes(n):
    """1536 -> '1.50 KiB' (binary units, as NumPy's own message)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if round(n, 2) < 1024 or unit == "EiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1024


def _requested_bytes(exc):
    """How many bytes the failed allocation asked for, when the library says so.

    NumPy's ``_ArrayMemoryError`` carries ``shape`` and ``dtype``; CuPy writes
    "Out of memory allocating 1,024 bytes (allocated so far: ...)".
    """
    shape, dtype = getattr(exc, "shape", None), getattr(exc, "dtype", None)
    if shape is not None and dtype is not None:
        count = 1
        for n in shape:
            count *= int(n)
        return count * numpy.dtype(dtype).itemsize
    found = re.search(r"allocating ([\d,]+) bytes", str(exc))
    return int(found.group(1).replace(",", "")) if found else None


def out_of_memory(op, arrays, exc):
    """The ``OutOfMemoryError`` to raise (``from exc``) when ``op`` failed to allocate.

    ``arrays``: the op's array inputs (or output gradients), described in the
    message by shape and dtype; the device is theirs.
    """
    arrays = [a for a in arrays if hasattr(a, "shape") and hasattr(a, "dtype")]
    device = device_of(arrays[0]) if arrays else CPU
    inputs = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays) or "no arrays"
    requested = _requested_bytes(exc)
    size = f"{_format_bytes(requested)} ({requested:,} bytes)" if requested is not None else "an unknown size"
    memory = "GPU memory" if device.type == "cuda" else "host memory"
    return OutOfMemoryError(
        f"{op} on {device} ran out of {memory} allocating {size} (inputs: {inputs}). "
        f"Use a smaller batch or smaller images, or lower the im2col workspace budget "
        f"(minicnn.kernels.set_workspace_limit). {type(exc).__name__}: {exc}",
        op=op, device=device, requested_bytes=requested,
    )


# ----------------------------------------------------------------------- dtypes
float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

_default_dtype = float32


def get_default_dtype():
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Make ``dtype`` (float32 or float64) the default floating dtype."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _default_dtype = dtype


def as_dtype(dtype):
    """``numpy.dtype`` from a dtype, a type or a name; None stays None."""
    if dtype is None:
        return None
    if dtype is float:
        return _default_dtype
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    return numpy.dtype(dtype)


def is_floating(dtype):
    return dtype.kind == "f"


# ----------------------------------------------------------------------- random
_seed = None
_generators = {}


def manual_seed(seed):
    """Seed the generators of every device; a seeded run is reproducible.

    Each device gets its own stream derived from ``seed`` (CPU: NumPy's
    ``default_rng(seed)``; GPU N: CuPy's ``default_rng`` on ``(seed, N)``).
    """
    global _seed
    if not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generators.clear()


def initial_seed():
    """The seed last given to ``manual_seed`` (None when never seeded)."""
    return _seed


def generator(device=CPU):
    """The random generator of ``device``, created on first use."""
    rng = _generators.get(device)
    if rng is None:
        if device.type == "cpu":
            rng = numpy.random.default_rng(_seed)
        else:
            seed = None if _seed is None else numpy.random.SeedSequence([_seed, device.index])
            seed = None if seed is None else int(seed.generate_state(1)[0])
            with _cupy.cuda.Device(device.index):
                rng = _cupy.random.default_rng(seed)
        _generators[device] = rng
    return rng


def random_permutation(device, n):
    """A random permutation of 0..n-1 drawn from ``device``'s generator.

    CuPy's ``Generator`` has no ``permutation``; there the permutation is the
    order that sorts n uniform draws (ties have probability ~n^2 / 2^53).
    """
    rng = generator(device)
    if device.type == "cpu":
        return rng.permutation(n)
    return rng.random(n).argsort()


def get_rng_state():
    """A checkpointable snapshot of the CPU generator (a plain dict).

    GPU generators keep their state on the device (cuRAND), which cannot be
    saved; after ``set_rng_state`` they restart from the seed.
    """
    return {"seed": _seed, "cpu": generator(CPU).bit_generator.state}


def set_rng_state(state):
    """Restore what ``get_rng_state`` returned."""
    global _seed
    _seed = state["seed"]
    _generators.clear()
    rng = generator(CPU)
    rng.bit_generator.state = state["cpu"]
