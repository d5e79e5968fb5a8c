"""CUDA kernels as readable C++ source, launched by CuPy on the GPU (or emulated on the CPU).

Each ``kernels/cuda_*.py`` module holds one ``CudaModule``: the CUDA C++ source
of a family of kernels (im2col, pooling, batch norm, optimizer updates) as a
string, and the signature of each ``__global__`` function.  The kernels are
templates over the element type ``T``; ``float`` and ``double`` are compiled::

    IM2COL = CudaModule("im2col", SOURCE, {"im2col": ("const T* x", "T* cols", "int total", ...)})
    IM2COL.launch("im2col", x.dtype, total, (x, cols, total, ...))

``launch`` runs ``total`` logical threads (a one-dimensional grid of
``THREADS_PER_BLOCK``-thread blocks; every kernel walks its elements with a
grid-stride loop, so the grid may be smaller than ``total``) and picks the
backend from the arrays it is given:

* CuPy arrays: the source is compiled once per device by NVRTC (through
  ``cupy.RawModule``, lazily: building a ``CudaModule`` needs no GPU) and the
  kernel is launched on the current stream;
* NumPy arrays: the same source is compiled for the CPU by ``cuda_emulator``
  and every thread runs in turn.  This is how the kernels are tested on a
  machine without a GPU; it is not a fast path.

Everything a kernel needs is passed by value: pointers (arrays), ``int`` sizes
and ``T``/``double`` scalars.  Indices are 32-bit ``int`` (fast on the GPU);
the Python wrappers check ``fits_int32`` and run the reference for arrays of
2**31 elements or more.

The sources are plain CUDA C++ with no CuPy headers, so the compile checks
(``cuda_compile``, run in CI without a GPU) compile exactly what CuPy compiles.
"""
from __future__ import annotations

import re

import numpy

from ..backend import is_gpu_array
from .lazy import NotApplicable

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 65535 * 16  # the grid-stride loops cover any larger total

# C++ types of the template parameter T, per dtype
CUDA_TYPES = {"float32": "float", "float64": "double"}
NVRTC_OPTIONS = ("-std=c++14",)

# Shared by every source: the grid-stride loop over ``total`` elements.
PRELUDE = r"""
// i = every index in [0, total) this thread owns: its global id, then
// strides of the whole grid (all launched threads), as in Chainer's CUDA_KERNEL_LOOP.
#define GRID_STRIDE_LOOP(i, total) \
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (total); i += blockDim.x * gridDim.x)

// Which window o (0 <= o < count) has its tap at ``offset`` = position + padding
// - tap * dilation along one axis, i.e. o * stride == offset; -1 when none does.
__device__ __forceinline__ int window_index(int offset, int stride, int count) {
    if (offset < 0 || offset % stride != 0) return -1;
    int o = offset / stride;
    return o < count ? o : -1;
}
"""

# The geometry of a sliding window (convolution, pooling), always in 3-d: a 2-d
# problem is a 3-d one with depth 1 (in_d = out_d = k_d = 1, s_d = dl_d = 1,
# p_d = 0), a 1-d one has height 1 as well.  The kernels take these 18 ints.
WINDOW_PARAMS = tuple(
    f"int {what}_{axis}" for what in ("in", "out", "k", "s", "p", "dl") for axis in "dhw"
)
PRELUDE += "#define WINDOW_GEOMETRY " + ", ".join(WINDOW_PARAMS) + "\n"


def window_arguments(spatial, out, kernel, stride, padding, dilation):
    """The 18 values of ``WINDOW_PARAMS`` for 1-, 2- or 3-d tuples (leading axes filled with 1s and 0s)."""
    def three(values, fill):
        return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)

    if not 1 <= len(spatial) <= 3:
        raise ValueError(f"the CUDA window kernels handle 1 to 3 spatial axes, got {len(spatial)}")
    return (three(spatial, 1) + three(out, 1) + three(kernel, 1) + three(stride, 1)
            + three(padding, 0) + three(dilation, 1))


INT32_LIMIT = 2**31 - 1


def require_int32(*sizes):
    """Raise ``NotApplicable`` unless every size can be indexed with the kernels' 32-bit ``int``."""
    if any(int(n) > INT32_LIMIT for n in sizes):
        raise NotApplicable(f"arrays of {max(sizes)} elements need 64-bit indices")


def grid_for(total):
    """Blocks for ``total`` logical threads (at least one, at most ``MAX_BLOCKS``)."""
    return max(1, min(MAX_BLOCKS, -(-int(total) // THREADS_PER_BLOCK)))


class CudaModule:
    """The source of a family of CUDA kernels and the signature of each.

    ``signatures`` maps a kernel's name to its parameters, each a C++
    declaration (``"const T* x"``, ``"int total"``, ``"double lr"``).  Every
    kernel is a template ``template <typename T> __global__ void name(...)``.
    """

    def __init__(self, name, source, signatures, dtypes=("float32", "float64")):
        self.name = name
        self.source = PRELUDE + source
        self.signatures = dict(signatures)
        self.dtypes = tuple(dtypes)
        self._cupy_modules = {}  # device id -> cupy.RawModule (compiled on first use)
        self._emulated = None  # the CPU build, made by cuda_emulator on first use

    def template_name(self, kernel, dtype):
        """``"im2col<float>"``: the name expression NVRTC instantiates and CuPy looks up."""
        return f"{kernel}<{CUDA_TYPES[numpy.dtype(dtype).name]}>"

    def name_expressions(self):
        """Every instantiation compiled: each kernel for each supported dtype."""
        return tuple(self.template_name(k, d) for k in self.signatures for d in self.dtypes)

    def supports(self, dtype):
        return numpy.dtype(dtype).name in self.dtypes

    def launch(self, kernel, dtype, total, args):
        """Run ``kernel<T>`` (T from ``dtype``) with ``total`` logical threads on ``args``.

        ``args`` follow the kernel's signature: arrays for pointers, Python or
        NumPy numbers for scalars (converted here to the declared C++ type).
        """
        params = self.signatures[kernel]
        if total == 0:
            return  # nothing to do (and an empty grid is not a valid launch)
        if len(args) != len(params):
            raise TypeError(f"{self.name}.{kernel} takes {len(params)} arguments ({', '.join(params)}), got {len(args)}")
        values = tuple(_as_argument(a, p, dtype) for a, p in zip(args, params))
        on_gpu = [a for a in values if is_gpu_array(a)]
        if on_gpu:
            with on_gpu[0].device:  # launch on the GPU that holds the arrays, whichever is current
                self._cupy_function(kernel, dtype, on_gpu[0])((grid_for(total),), (THREADS_PER_BLOCK,), values)
        else:
            self._emulator().launch(self.template_name(kernel, dtype), grid_for(total), THREADS_PER_BLOCK, values)

    # ------------------------------------------------------------ backends
    def _cupy_function(self, kernel, dtype, array):
        device_id = array.device.id
        module = self._cupy_modules.get(device_id)
        if module is None:
            from ..backend import cupy_raw_module

            module = self._cupy_modules[device_id] = cupy_raw_module(
                self.source, NVRTC_OPTIONS, self.name_expressions()
            )
        return module.get_function(self.template_name(kernel, dtype))

    def _emulator(self):
        if self._emulated is None:
            from .cuda_emulator import EmulatedModule

            self._emulated = EmulatedModule(self.source, {
                self.template_name(k, d): (CUDA_TYPES[d], params)
                for k, params in self.signatures.items()
                for d in self.dtypes
            })
        return self._emulated

    def __repr__(self):
        return f"<CudaModule {self.name!r}: {', '.join(self.signatures)} for {', '.join(self.dtypes)}>"


def parameter_type(declaration, ctype="T"):
    """The C++ type in a parameter declaration, with ``T`` spelled ``ctype``:
    ``parameter_type("const T* x", "float") == "const float*"``."""
    return re.sub(r"\bT\b", ctype, declaration.rsplit(" ", 1)[0].strip())


_SCALARS = {"int": numpy.int32, "double": numpy.float64, "float": numpy.float32}


def _as_argument(value, declaration, dtype):
    """``value`` as the kernel parameter ``declaration`` expects it (arrays pass as they are)."""
    kind = parameter_type(declaration, CUDA_TYPES[numpy.dtype(dtype).name])
    return value if kind.endswith("*") else _SCALARS[kind](value)
