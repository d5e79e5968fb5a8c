"""The Numba kernels' plumbing: registry choice, lazy loading, fallback with one warning,
and the conv op's algorithm choices (pointwise product, chunked im2col)."""
import warnings

import numpy as np
import pytest

numba = pytest.importorskip("numba")

import minicnn as mc  # noqa: E402
import minicnn.nn.functional as F  # noqa: E402
from minicnn import kernels  # noqa: E402
from minicnn.kernels.numba_support import LazyNumbaKernel, NumbaFallbackWarning  # noqa: E402


@pytest.fixture
def setting():
    """Restore the kernel setting and the workspace limit after the test."""
    before, limit = kernels.current(), kernels.workspace_limit()
    yield
    kernels.use(before)
    kernels.set_workspace_limit(limit)


def test_auto_picks_numba_on_the_cpu_and_numpy_picks_the_reference(setting):
    x = np.zeros((1, 1, 4, 4), np.float32)
    kernels.use("auto")
    for name in ("im2col", "col2im", "max_pool_forward", "batch_norm_statistics"):
        assert kernels.choose(name, on_gpu=False) == "numba"
        assert isinstance(kernels.get(name, x), LazyNumbaKernel)
    kernels.use("numpy")
    for name in ("im2col", "col2im", "max_pool_forward", "batch_norm_statistics"):
        assert kernels.get(name, x) is kernels.implementation(name, "reference")


def _failing_call(*args):
    raise numba.core.errors.TypingError("simulated compile failure")


@pytest.mark.parametrize("failure", ["import", "compile"])
def test_a_kernel_that_fails_to_compile_falls_back_with_one_warning(monkeypatch, failure):
    kernel = LazyNumbaKernel("im2col", "numba_im2col")  # a fresh one: the registered kernel stays intact
    if failure == "import":
        monkeypatch.setattr(kernel, "load", lambda: _failing_call())
    else:
        monkeypatch.setattr(kernel, "load", lambda: _failing_call)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    args = (x, (3, 3), (1, 1), (1, 1), (1, 1))
    expected = kernels.implementation("im2col", "reference")(*args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            np.testing.assert_array_equal(kernel(*args), expected)
    fallbacks = [w for w in caught if issubclass(w.category, NumbaFallbackWarning)]
    assert len(fallbacks) == 1 and "im2col" in str(fallbacks[0].message)


def test_errors_that_are_not_numba_errors_are_not_hidden(monkeypatch):
    kernel = LazyNumbaKernel("im2col", "numba_im2col")

    def broken(*args):
        raise ValueError("a real bug")

    monkeypatch.setattr(kernel, "load", lambda: broken)
    with pytest.raises(ValueError, match="a real bug"):
        kernel(np.zeros((1, 1, 3, 3), np.float32), (1, 1), (1, 1), (0, 0), (1, 1))


def _conv_step(x, w, b, **kwargs):
    """Forward and every gradient of a convolution (or a transposed one)."""
    op = kwargs.pop("op", F.conv2d)
    x, w, b = (mc.tensor(a, requires_grad=True) for a in (x, w, b))
    y = op(x, w, b, **kwargs)
    (y * y).sum().backward()
    return [t.numpy() for t in (y, x.grad, w.grad, b.grad)]


@pytest.mark.parametrize("op, weight_shape, kwargs", [
    (F.conv2d, (6, 4, 3, 3), dict(stride=2, padding=1)),
    (F.conv2d, (6, 2, 3, 3), dict(padding=1, dilation=2, groups=2)),
    (F.conv_transpose2d, (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
])
def test_chunked_im2col_gives_the_unchunked_result(setting, op, weight_shape, kwargs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 4, 9, 8))
    w = rng.standard_normal(weight_shape)
    b = rng.standard_normal(weight_shape[1] * kwargs.get("groups", 1) if op is F.conv_transpose2d
                            else weight_shape[0])
    kernels.set_workspace_limit(None)
    whole = _conv_step(x, w, b, op=op, **kwargs)
    kernels.set_workspace_limit(3000)  # a few samples' columns: several uneven chunks
    assert len(kernels.batch_chunks(7, 1000)) == 3
    chunked = _conv_step(x, w, b, op=op, **kwargs)
    for got, expected in zip(chunked, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_pointwise_convolution_is_a_direct_product(monkeypatch):
    """A 1x1, stride-1, unpadded convolution never calls im2col/col2im: y = W x per pixel."""
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 5, 4, 6)), rng.standard_normal((7, 5, 1, 1)), rng.standard_normal(7)

    def forbidden(*args):
        raise AssertionError("im2col/col2im called for a pointwise convolution")

    monkeypatch.setattr(kernels, "get", lambda name, array: forbidden)
    y, dx, dw, db = _conv_step(x, w, b)
    expected = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_allclose(dx, np.einsum("fc,nfhw->nchw", w[:, :, 0, 0], 2 * expected), rtol=1e-12)
    np.testing.assert_allclose(dw[:, :, 0, 0], np.einsum("nfhw,nchw->fc", 2 * expected, x), rtol=1e-12)


def test_workspace_limit_is_validated(setting):
    with pytest.raises(ValueError, match="positive number of bytes"):
        kernels.set_workspace_limit(0)
    kernels.set_workspace_limit(10)
    assert kernels.batch_chunks(4, 100) == [slice(i, i + 1) for i in range(4)]  # at least one sample
    kernels.set_workspace_limit(None)
    assert kernels.batch_chunks(4, 10**12) == [slice(0, 4)]
