"""The CUDA kernels' plumbing: registration, lazy loading, the documented fallbacks, one warning.

Run here on NumPy arrays (the CUDA source emulated on the CPU); the registry's
choice for CuPy arrays is tested where CuPy is installed.
"""
import warnings

import numpy as np
import pytest

from minicnn import backend, kernels
from minicnn.kernels import cuda_module
from minicnn.kernels.cuda_emulator import compiler
from minicnn.kernels.cuda_support import CUDA_KERNELS, CudaFallbackWarning, LazyCudaKernel, cuda_modules

needs_compiler = pytest.mark.skipif(compiler() is None, reason="no C++ compiler to emulate the CUDA kernels")
ARGS = ((3, 3), (1, 1), (1, 1), (1, 1))


def test_cupy_implementations_are_registered_exactly_when_cupy_imports():
    for name in CUDA_KERNELS:
        if name.endswith("_update"):
            continue  # registered by minicnn.optim, checked in test_cuda_optim
        assert ("cupy" in kernels.available(name)) == backend.cupy_installed()


def test_every_cuda_kernel_has_a_reference_and_a_source():
    import minicnn.optim  # noqa: F401 (registers the optimizer updates' references)

    names = {expr.split("<")[0] for module in cuda_modules() for expr in module.name_expressions()}
    for name in CUDA_KERNELS:
        assert "reference" in kernels.available(name)
    assert {"im2col", "col2im", "max_pool_forward", "sgd_update", "adam_update"} <= names


@needs_compiler
def test_unsupported_dtypes_and_huge_arrays_run_the_reference(monkeypatch):
    kernel = LazyCudaKernel("im2col", "cuda_im2col")
    reference = kernels.implementation("im2col", "reference")
    x16 = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5).astype(np.float16)
    got = kernel(x16, *ARGS)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, reference(x16, *ARGS))

    # arrays beyond 32-bit indexing: pretend the limit is tiny
    monkeypatch.setattr(cuda_module, "INT32_LIMIT", 10)
    launched = []
    monkeypatch.setattr(cuda_module.CudaModule, "launch", lambda *a: launched.append(a))
    x = x16.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a documented fallback gives no warning
        np.testing.assert_array_equal(kernel(x, *ARGS), reference(x, *ARGS))
    assert not launched


def test_a_kernel_that_fails_to_compile_warns_once_and_runs_the_reference(monkeypatch):
    class CompileException(Exception):
        """Stands in for cupy.cuda.compiler.CompileException."""

    def broken(*args):
        raise CompileException("error: identifier 'factor' is undefined")

    kernel = LazyCudaKernel("im2col", "cuda_im2col")
    monkeypatch.setattr(kernel, "load", lambda: broken)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    expected = kernels.implementation("im2col", "reference")(x, *ARGS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(kernel(x, *ARGS), expected)
        np.testing.assert_array_equal(kernel(x, *ARGS), expected)
    fallbacks = [w for w in caught if issubclass(w.category, CudaFallbackWarning)]
    assert len(fallbacks) == 1 and "im2col" in str(fallbacks[0].message) and "factor" in str(fallbacks[0].message)


def test_out_of_memory_and_bad_arguments_are_not_hidden_by_the_fallback(monkeypatch):
    kernel = LazyCudaKernel("im2col", "cuda_im2col")

    def out_of_memory(*args):
        raise MemoryError("Out of memory allocating 1,073,741,824 bytes")

    monkeypatch.setattr(kernel, "load", lambda: out_of_memory)
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(MemoryError):
        kernel(x, *ARGS)
    assert kernel.compiled is out_of_memory  # no switch to the reference


@needs_compiler
def test_the_emulator_rejects_arrays_it_cannot_pass_as_pointers():
    module = cuda_modules()[0]
    x = np.zeros((2, 3, 4, 4), np.float32)[:, :, ::2]  # not contiguous
    cols = np.empty((2, 27, 4), np.float32)
    with pytest.raises(TypeError, match="C-contiguous"):
        module.launch("im2col", np.float32, cols.size, (x, cols, cols.size, *cuda_module.window_arguments(
            (2, 4), (2, 4), (3, 3), (1, 1), (1, 1), (1, 1))))


@needs_compiler
def test_im2col_and_col2im_write_into_out_when_given():
    kernel, adjoint = LazyCudaKernel("im2col", "cuda_im2col"), LazyCudaKernel("col2im", "cuda_im2col")
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 4)).astype(np.float32)
    expected = kernels.implementation("im2col", "reference")(x, *ARGS)
    out = np.full(expected.shape, np.nan, np.float32)
    assert kernel(x, *ARGS, out) is out
    np.testing.assert_array_equal(out, expected)
    back = np.full(x.shape, np.nan, np.float32)
    assert adjoint(out, x.shape, *ARGS, back) is back
    np.testing.assert_allclose(back, kernels.implementation("col2im", "reference")(out, x.shape, *ARGS), rtol=1e-6)
    with pytest.raises(ValueError, match="out must be"):
        kernel(x, *ARGS, np.empty((1, 1), np.float32))
