"""Run a CUDA kernel's source on the CPU, one thread after another.

minicnn's CUDA kernels (``kernels/cuda_*.py``) are written so that each
thread works alone: a grid-stride loop over its elements, no shared memory,
no ``__syncthreads``, and atomics only where two threads may add to the same
place.  Such a kernel means the same thing when its threads run one at a
time, so it can be checked on a machine with no GPU:

1. the source is compiled by the host C++ compiler (``g++``/``c++``), after a
   small header that gives the CUDA words a CPU meaning (``__global__`` is
   nothing, ``blockIdx``/``threadIdx`` are globals, ``atomicAdd`` a plain add);
2. for each kernel an ``extern "C"`` launcher is generated from its
   signature: it takes the grid size and an array of argument pointers (as
   ``cudaLaunchKernel`` does) and calls the kernel for every block and
   thread in order;
3. ``ctypes`` loads the library and passes NumPy arrays as pointers.

The tests run every CUDA kernel this way against the NumPy reference, over
hypothesis-drawn shapes; on a GPU the same tests run the real thing.  The
emulator is slow (one thread at a time) and only for checking.

The build is cached per source in a temporary directory (one compile per
source and process, about a second).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy

from .cuda_module import parameter_type

# CUDA's vocabulary, with the meaning it has when threads run one at a time.
CPU_CUDA_HEADER = r"""
#include <algorithm>
#include <cmath>
using std::isnan; using std::sqrt; using std::pow; using std::min; using std::max;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
struct dim3 { unsigned int x = 1, y = 1, z = 1; };
static dim3 blockIdx, threadIdx, blockDim, gridDim;
// one thread at a time: an atomic add is an add
template <typename T> static T atomicAdd(T* address, T value) { T old = *address; *address += value; return old; }
"""


class EmulatorUnavailable(RuntimeError):
    """No C++ compiler here, so CUDA kernels cannot be run on the CPU."""


def compiler():
    """The host C++ compiler: ``$CXX``, else ``g++``, else ``c++`` (None when none is found)."""
    for candidate in (os.environ.get("CXX"), "g++", "c++"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _launcher(symbol, template_name, ctype, params):
    """C++ for ``extern "C" void symbol(blocks, threads, args)``: run every thread of the grid."""
    # argument i is *(type*) args[i], e.g. *static_cast<const float**>(args[0])
    arguments = [f"*static_cast<{parameter_type(p, ctype)}*>(args[{i}])" for i, p in enumerate(params)]
    return (
        f'extern "C" void {symbol}(unsigned int blocks, unsigned int threads, void** args) {{\n'
        f"    gridDim.x = blocks; blockDim.x = threads;\n"
        f"    for (blockIdx.x = 0; blockIdx.x < blocks; ++blockIdx.x)\n"
        f"        for (threadIdx.x = 0; threadIdx.x < threads; ++threadIdx.x)\n"
        f"            {template_name}({', '.join(arguments)});\n"
        f"}}\n"
    )


def _symbol(template_name):
    """A C name for ``im2col<float>``: ``launch_im2col_float``."""
    return "launch_" + "".join(c if c.isalnum() else "_" for c in template_name).strip("_")


_CTYPES = {"int": ctypes.c_int32, "double": ctypes.c_double, "float": ctypes.c_float}
_builds: dict[str, ctypes.CDLL] = {}


class EmulatedModule:
    """A CUDA source compiled for the CPU; ``launch`` runs one instantiated kernel.

    ``kernels`` maps each name expression (``"im2col<float>"``) to the C++ type
    of ``T`` in it and the kernel's parameter declarations.
    """

    def __init__(self, source, kernels):
        self.kernels = dict(kernels)
        launchers = "".join(_launcher(_symbol(name), name, ctype, params) for name, (ctype, params) in self.kernels.items())
        self.library = _build(CPU_CUDA_HEADER + source + "\n" + launchers)

    def launch(self, template_name, blocks, threads, args):
        ctype, params = self.kernels[template_name]
        keep = []  # the ctypes objects must live until the call returns
        pointers = (ctypes.c_void_p * len(args))()
        for i, (value, declaration) in enumerate(zip(args, params)):
            kind = parameter_type(declaration, ctype)
            if kind.endswith("*"):
                if not (isinstance(value, numpy.ndarray) and value.flags.c_contiguous):
                    raise TypeError(f"{template_name}: argument {declaration!r} must be a C-contiguous NumPy array")
                slot = ctypes.c_void_p(value.ctypes.data)
            else:
                slot = _CTYPES[kind](value)
            keep.append(slot)
            pointers[i] = ctypes.cast(ctypes.pointer(slot), ctypes.c_void_p)
        getattr(self.library, _symbol(template_name))(ctypes.c_uint(blocks), ctypes.c_uint(threads), pointers)


def _build(code):
    """Compile ``code`` to a shared library (once per process and source) and load it."""
    key = hashlib.sha256(code.encode()).hexdigest()[:16]
    if key in _builds:
        return _builds[key]
    cxx = compiler()
    if cxx is None:
        raise EmulatorUnavailable("no C++ compiler (g++/c++ or $CXX) found to run CUDA kernels on the CPU")
    folder = Path(tempfile.mkdtemp(prefix="minicnn-cuda-emulator-"))
    source, library = folder / f"{key}.cpp", folder / f"{key}.so"
    source.write_text(code)
    result = subprocess.run(
        [cxx, "-std=c++14", "-O2", "-shared", "-fPIC", "-w", "-o", str(library), str(source)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the CUDA source does not compile for the CPU emulator:\n{result.stderr}")
    _builds[key] = ctypes.CDLL(str(library))
    return _builds[key]
