"""im2col / col2im (every registered implementation) and the output-size helper."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import backend, kernels
from minicnn.kernels.shapes import conv_output_size, conv_transpose_output_size, output_shape
from tests.kernels import naive


def implementations(name, device):
    """The implementations of kernel ``name`` that run on ``device``."""
    wrong = "cupy" if device == "cpu" else "numba"
    return [(which, kernels.implementation(name, which)) for which in kernels.available(name) if which != wrong]


def on(device, array):
    return backend.to_device(np.asarray(array), backend.as_device(device))


@st.composite
def window_configs(draw, max_dims=3):
    """Tiny N-d inputs with a window that fits: (x shape, kernel, stride, padding, dilation)."""
    d = draw(st.integers(1, max_dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    smallest = [max(1, dl * (f - 1) + 1 - 2 * p) for f, p, dl in zip(kernel, padding, dilation)]
    spatial = tuple(draw(st.integers(n, n + (3 if d < 3 else 1))) for n in smallest)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *spatial)
    return shape, kernel, stride, padding, dilation


# ------------------------------------------------------------------ output size
def test_output_size_course_examples():
    # 6x6 image, 3x3 filter: "valid" n - f + 1 = 4, "same" with p = (f - 1)/2 = 1
    assert conv_output_size(6, 3) == 4
    assert conv_output_size(6, 3, padding=1) == 6
    assert conv_output_size(6, 5, padding=2) == 6
    # floor((n + 2p - f) / s) + 1: 7x7, f=3, s=2 -> 3; with p=1 -> 4
    assert conv_output_size(7, 3, stride=2) == 3
    assert conv_output_size(7, 3, stride=2, padding=1) == 4
    # dilation 2 makes a 3-tap window span 5
    assert conv_output_size(6, 3, dilation=2) == 2
    assert output_shape((6, 7), (3, 3), (1, 2), (1, 0), (1, 1)) == (6, 3)


@given(n=st.integers(1, 12), f=st.integers(1, 4), s=st.integers(1, 4), p=st.integers(0, 2), d=st.integers(1, 3))
def test_output_size_counts_the_windows(n, f, s, p, d):
    # the formula goes to 0 or below when no window fits
    assert max(conv_output_size(n, f, s, p, d), 0) == naive.count_windows(n, f, s, p, p, d)


def test_ceil_mode_rule():
    # 5 elements, f=2, s=2: floor gives 2 windows, ceil a third one (over element 4 only)
    assert conv_output_size(5, 2, 2) == 2
    assert conv_output_size(5, 2, 2, ceil_mode=True) == 3
    # that last window must start inside the input or the left padding: 4 + pad 1, f=2, s=3:
    # ceil((4 + 2 - 2) / 3) + 1 = 3, but window 2 would start at 6 >= n + p = 5 -> 2
    assert conv_output_size(4, 2, 3, padding=1, ceil_mode=True) == 2
    assert conv_output_size(6, 2, 2, ceil_mode=True) == 3  # exact fit: same as floor


@given(n=st.integers(1, 12), f=st.integers(1, 4), s=st.integers(1, 4), d=st.integers(1, 2), data=st.data())
def test_ceil_mode_matches_torch(n, f, s, d, data):
    torch = pytest.importorskip("torch")
    p = data.draw(st.integers(0, f // 2))
    if conv_output_size(n, f, s, p, d) < 1:
        return
    y = torch.nn.functional.max_pool1d(torch.zeros(1, 1, n), f, s, p, d, ceil_mode=True)
    assert conv_output_size(n, f, s, p, d, ceil_mode=True) == y.shape[-1]


def test_transpose_output_size_inverts_the_convolution():
    for n, f, s, p, d in [(4, 3, 2, 1, 1), (5, 2, 3, 0, 2), (3, 3, 1, 1, 1)]:
        m = conv_transpose_output_size(n, f, s, p, d)
        assert conv_output_size(m, f, s, p, d) == n
        for extra in range(1, s):  # output_padding adds back what the floor dropped
            assert conv_output_size(m + extra, f, s, p, d) == n


# ----------------------------------------------------------------------- im2col
def test_im2col_3x3_image_2x2_kernel(device):
    """The worked example of the docs: the four 2x2 windows become four columns."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # a..i = 1..9
    expected = np.array([[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]], dtype=float)
    for which, im2col in implementations("im2col", device):
        cols = backend.to_numpy(im2col(on(device, x), (2, 2), (1, 1), (0, 0), (1, 1)))
        np.testing.assert_array_equal(cols, expected[None], err_msg=which)
    # the convolution with w = [[p, q], [r, s]] is then one row times cols
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    assert (w @ expected).tolist() == [5421.0, 6532.0, 8754.0, 9865.0]


@given(config=window_configs())
def test_im2col_matches_the_loops(device, config):
    shape, kernel, stride, padding, dilation = config
    x = np.random.default_rng(1).standard_normal(shape)
    expected = naive.im2col(x, kernel, stride, padding, dilation)
    for which, im2col in implementations("im2col", device):
        cols = im2col(on(device, x), kernel, stride, padding, dilation)
        np.testing.assert_array_equal(backend.to_numpy(cols), expected, err_msg=which)


@given(config=window_configs())
def test_col2im_is_the_adjoint_of_im2col(device, config):
    """<im2col(x), c> = <x, col2im(c)> for all x, c: col2im is im2col transposed."""
    shape, kernel, stride, padding, dilation = config
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    out = output_shape(shape[2:], kernel, stride, padding, dilation)
    c = rng.standard_normal((shape[0], shape[1] * int(np.prod(kernel)), int(np.prod(out))))
    for which, col2im in implementations("col2im", device):
        back = backend.to_numpy(col2im(on(device, c), shape, kernel, stride, padding, dilation))
        assert back.shape == shape
        lhs = np.sum(naive.im2col(x, kernel, stride, padding, dilation) * c)
        np.testing.assert_allclose(lhs, np.sum(x * back), rtol=1e-10, err_msg=which)


def test_col2im_sums_overlapping_windows(device):
    """Each pixel receives one contribution per window that covers it."""
    shape, kernel = (1, 1, 3, 3), (2, 2)
    ones = np.ones((1, 4, 4))
    for which, col2im in implementations("col2im", device):
        counts = backend.to_numpy(col2im(on(device, ones), shape, kernel, (1, 1), (0, 0), (1, 1)))
        np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]], err_msg=which)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_layout_kept(device, dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4)).astype(dtype)
    for which, im2col in implementations("im2col", device):
        cols = im2col(on(device, x), (3, 2), (1, 2), (1, 1), (1, 1))
        assert cols.dtype == dtype and cols.shape == (2, 3 * 6, 5 * 3) and cols.flags.c_contiguous
        back = kernels.implementation("col2im", which)(cols, x.shape, (3, 2), (1, 2), (1, 1), (1, 1))
        assert back.dtype == dtype and back.shape == x.shape and back.flags.c_contiguous


def test_registered_and_dispatched():
    assert "reference" in kernels.available("im2col")
    assert "reference" in kernels.available("col2im")
    x = np.zeros((1, 1, 3, 3))
    assert kernels.get("im2col", x) is kernels.implementation("im2col", kernels.choose("im2col", False))


@given(config=window_configs())
def test_out_receives_the_result(config):
    """``out=`` (the convolution's reused scratch buffer): the result is written into it,
    whatever it held before, and it is returned (CPU implementations)."""
    shape, kernel, stride, padding, dilation = config
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    out = output_shape(shape[2:], kernel, stride, padding, dilation)
    c = rng.standard_normal((shape[0], shape[1] * int(np.prod(kernel)), int(np.prod(out))))
    for which, im2col in implementations("im2col", "cpu"):
        garbage = np.full(c.shape, np.nan)
        assert im2col(x, kernel, stride, padding, dilation, garbage) is garbage
        np.testing.assert_array_equal(garbage, naive.im2col(x, kernel, stride, padding, dilation), err_msg=which)
    for which, col2im in implementations("col2im", "cpu"):
        garbage = np.full(shape, np.nan)
        assert col2im(c, shape, kernel, stride, padding, dilation, garbage) is garbage
        np.testing.assert_allclose(garbage, col2im(c, shape, kernel, stride, padding, dilation),
                                   rtol=1e-12, err_msg=which)


def test_numba_out_must_be_contiguous():
    numba_im2col = pytest.importorskip("minicnn.kernels.numba_im2col")
    x = np.zeros((2, 3, 4, 4))
    bad = np.zeros((2, 27, 16), order="F")
    with pytest.raises(ValueError, match="im2col: out must be a C-contiguous"):
        numba_im2col.im2col(x, (3, 3), (1, 1), (1, 1), (1, 1), bad)
    with pytest.raises(ValueError, match="col2im: out must be a C-contiguous"):
        numba_im2col.col2im(np.zeros((2, 27, 16)), x.shape, (3, 3), (1, 1), (1, 1), (1, 1), x.astype(np.float32))


# ------------------------------------------------------------------ im2strips
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(config=window_configs(max_dims=2).filter(lambda c: len(c[1]) == 2), seed=st.integers(0, 2**16))
def test_strips_hold_the_columns_as_windows(dtype, config, seed):
    """Every implementation of im2strips against a loop over the definition, and the claim
    that makes it useful: the im2col rows of tap row b are windows of the strips."""
    shape, kernel, _, padding, dilation = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    N, C, H, W = shape
    (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
    oh, ow = output_shape((H, W), kernel, (1, 1), padding, dilation)
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    expected = np.empty((N, C, kw, H + 2 * ph, ow), dtype)
    for e in range(kw):  # strips[n, (c, e), (r, j)] = x_pad[n, c, r, j + e*dw]
        for j in range(ow):
            expected[:, :, e, :, j] = x_padded[:, :, :, j + e * dw]
    expected = expected.reshape(N, C * kw, -1)
    cols = naive.im2col(x, kernel, (1, 1), padding, dilation).reshape(N, C, kh, kw, oh * ow)
    for which, im2strips in implementations("im2strips", "cpu"):
        out = np.full(expected.shape, np.nan, dtype)
        for got in (im2strips(x, kernel, padding, dilation), im2strips(x, kernel, padding, dilation, out)):
            np.testing.assert_array_equal(got, expected, err_msg=which)
        for b in range(kh):  # tap row b of the columns = the window from row b*dh of every strip
            window = out.reshape(N, C, kw, -1)[..., b * dh * ow: b * dh * ow + oh * ow]
            np.testing.assert_array_equal(window, cols[:, :, b], err_msg=which)


def test_strips_reject_a_wrong_out():
    x = np.zeros((2, 3, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"im2strips: out must be a C-contiguous float32 array of shape \(2, 9, 35\)"):
        kernels.implementation("im2strips", "numba")(x, (3, 3), (1, 1), (1, 1), np.zeros((2, 9, 30), np.float32))
