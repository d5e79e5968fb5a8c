"""Compile every CUDA source to GPU machine code (cubin) without a GPU: the CI check.

CuPy compiles a ``RawModule`` on the first launch, which needs a GPU; a typo in
a kernel would otherwise surface only on a GPU machine.  NVRTC itself (the
CUDA runtime compiler CuPy uses) needs no GPU and no driver, so this module
drives it directly through ``cuda.core``'s ``Program`` and compiles each
kernel source, with every dtype instantiation, for each target architecture:

* ``sm_75`` (Turing: T4, RTX 20xx), ``sm_80`` (Ampere: A100), ``sm_90`` (Hopper: H100/H200);
* to ``cubin``, so NVRTC also runs ptxas, the assembler, which catches what
  only the hardware limits reveal (too much shared memory, too many registers).

Usage (needs the ``gpu-check`` extra: ``pip install -e ".[gpu-check]"``)::

    python -m minicnn.kernels.cuda_compile            # every module x every architecture
    python -m minicnn.kernels.cuda_compile sm_90      # one architecture

A source that fails raises ``CudaCompileError`` with NVRTC's log.
"""
from __future__ import annotations

import sys

from .cuda_module import NVRTC_OPTIONS

ARCHITECTURES = ("sm_75", "sm_80", "sm_90")


class CudaCompileError(RuntimeError):
    """NVRTC (or ptxas) rejected a CUDA source; the message holds the compiler's log."""


def _program_classes():
    try:
        from cuda.core import Program, ProgramOptions
    except ImportError:  # cuda-core before 0.4 kept them under ``experimental``
        from cuda.core.experimental import Program, ProgramOptions
    return Program, ProgramOptions


def nvrtc_unavailable_reason():
    """Why the compile checks cannot run here (None when they can)."""
    try:
        Program, ProgramOptions = _program_classes()
        Program("__global__ void probe() {}", "c++", ProgramOptions(arch="sm_80")).compile("cubin")
    except Exception as error:  # not installed, or no NVRTC library found
        return (f"NVRTC through cuda.core is not usable ({type(error).__name__}: {error}); "
                'install the gpu-check extra: pip install -e ".[gpu-check]"')
    return None


def _std(options):
    """The ``-std=`` option CuPy is given, as ``ProgramOptions(std=...)`` spells it."""
    for option in options:
        if option.startswith("-std="):
            return option.split("=", 1)[1]
    return None


def compile_to_cubin(source, name_expressions, arch, name="minicnn_kernels"):
    """Compile ``source`` for ``arch`` with the given template instantiations; returns the cubin bytes."""
    Program, ProgramOptions = _program_classes()
    options = ProgramOptions(name=name, arch=arch, std=_std(NVRTC_OPTIONS))
    try:
        code = Program(source, "c++", options).compile("cubin", name_expressions=tuple(name_expressions))
    except Exception as error:
        raise CudaCompileError(f"{name} does not compile for {arch}:\n{error}") from error
    return bytes(code.code)


def compile_module(module, arch):
    """Compile one ``CudaModule`` (every kernel, every dtype) for ``arch``; returns the cubin bytes."""
    return compile_to_cubin(module.source, module.name_expressions(), arch, name=module.name)


def main(argv=None):
    from .cuda_support import cuda_modules

    archs = tuple(argv if argv else ARCHITECTURES)
    reason = nvrtc_unavailable_reason()
    if reason is not None:
        print(reason)
        return 2
    failures = 0
    for module in cuda_modules():
        for arch in archs:
            try:
                cubin = compile_module(module, arch)
            except CudaCompileError as error:
                failures += 1
                print(f"FAIL {module.name:10s} {arch}: {error}")
            else:
                print(f"ok   {module.name:10s} {arch}: {len(module.name_expressions())} kernels, {len(cubin):,} bytes of cubin")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
