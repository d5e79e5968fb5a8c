"""Every CUDA source compiles to cubin for sm_75, sm_80 and sm_90 (through NVRTC, no GPU needed).

These tests need the ``gpu-check`` extra (CuPy's NVRTC wheels and ``cuda-core``).
Without it they skip, unless ``MINICNN_REQUIRE_NVRTC=1`` is set (``.ci/run``'s
second step sets it), in which case a missing NVRTC fails them: the check must
not pass by skipping.
"""
import os

import pytest

from minicnn.kernels.cuda_compile import ARCHITECTURES, CudaCompileError, compile_to_cubin, nvrtc_unavailable_reason
from minicnn.kernels.cuda_module import CudaModule
from minicnn.kernels.cuda_support import CUDA_KERNELS, CUDA_MODULES, cuda_modules

_REASON = nvrtc_unavailable_reason()
if _REASON is not None:
    if os.environ.get("MINICNN_REQUIRE_NVRTC") == "1":
        raise RuntimeError(f"MINICNN_REQUIRE_NVRTC=1 but {_REASON}")
    pytest.skip(_REASON, allow_module_level=True)

MODULES = {module.name: module for module in cuda_modules()}
CUBIN_MAGIC = b"\x7fELF"  # a cubin is an ELF file


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_cuda_module_compiles_to_cubin(name, arch):
    module = MODULES[name]
    cubin = compile_to_cubin(module.source, module.name_expressions(), arch, name=name)
    assert cubin.startswith(CUBIN_MAGIC)
    for expression in module.name_expressions():  # every kernel for float and double
        kernel = expression.split("<")[0]
        assert kernel.encode() in cubin


def test_every_registered_cuda_kernel_lives_in_a_checked_module():
    assert set(CUDA_KERNELS.values()) <= set(CUDA_MODULES)


def test_a_broken_kernel_is_reported_as_a_compile_error():
    broken = CudaModule("broken", r"""
template <typename T>
__global__ void scale(T* x, int total) {
    GRID_STRIDE_LOOP(i, total) { x[i] *= factor; }   // 'factor' is not declared
}
""", {"scale": ("T* x", "int total")})
    with pytest.raises(CudaCompileError, match=r"(?s)broken does not compile for sm_80.*factor.*undefined"):
        compile_to_cubin(broken.source, broken.name_expressions(), "sm_80", name="broken")


def test_a_kernel_over_the_hardware_limits_is_caught_by_ptxas():
    """Static shared memory is limited to 48 KiB per block; 64 KiB only fails in the assembler."""
    source = r"""
__global__ void too_much_shared(float* out) {
    __shared__ float buffer[16384];   // 64 KiB
    buffer[threadIdx.x] = threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = buffer[(threadIdx.x + 1) % 16384];
}
"""
    with pytest.raises(CudaCompileError, match="too_much_shared"):
        compile_to_cubin(source, (), "sm_75", name="too_much_shared")
