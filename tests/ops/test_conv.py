"""conv1d / conv2d / conv3d / conv_transpose2d: forward against the loop definition,
float64 gradient checks over drawn configurations, the course examples, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array
from tests.kernels import naive


@st.composite
def conv_configs(draw, d=2, max_side=5):
    """A tiny convolution whose kernel fits: shapes and keyword arguments."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C, Fo = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(d))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    smallest = [max(1, dl * (f - 1) + 1 - 2 * p) for f, p, dl in zip(kernel, padding, dilation)]
    spatial = tuple(draw(st.integers(n, max(n, max_side))) for n in smallest)
    x_shape = (draw(st.integers(1, 2)), C, *spatial)
    w_shape = (Fo, C // groups, *kernel)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x_shape, w_shape, draw(st.booleans()), kwargs


CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


# ----------------------------------------------------------------- course examples
COURSE_IMAGE = np.array(
    [
        [3, 0, 1, 2, 7, 4],
        [1, 5, 8, 9, 3, 1],
        [2, 7, 2, 5, 1, 3],
        [0, 1, 3, 1, 7, 8],
        [4, 2, 1, 6, 2, 8],
        [2, 4, 5, 2, 3, 9],
    ],
    dtype=float,
)
VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)


def test_course_6x6_image_3x3_filter(device):
    x, w = make(COURSE_IMAGE[None, None], device), make(VERTICAL_EDGE[None, None], device)
    y = F.conv2d(x, w)  # "valid": 6 - 3 + 1 = 4
    expected = [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
    assert y.shape == (1, 1, 4, 4)
    assert_close(y[0, 0], np.array(expected, dtype=float))
    for padding in (1, "same"):  # p = (f - 1) / 2 = 1 keeps 6x6
        same = F.conv2d(x, w, padding=padding)
        assert same.shape == (1, 1, 6, 6)
        assert_close(same[0, 0, 1:5, 1:5], np.array(expected, dtype=float))
    assert F.conv2d(x, w, padding="valid").shape == (1, 1, 4, 4)
    # floor((n + 2p - f) / s) + 1 with s = 2: floor(3 / 2) + 1 = 2, with p = 1: floor(5 / 2) + 1 = 3
    assert F.conv2d(x, w, stride=2).shape == (1, 1, 2, 2)
    assert F.conv2d(x, w, stride=2, padding=1).shape == (1, 1, 3, 3)


def test_vertical_edge_detector(device):
    """A bright left half and a dark right half: the edge shows as a bright band."""
    image = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float)
    y = F.conv2d(make(image[None, None], device), make(VERTICAL_EDGE[None, None], device))
    assert_close(y[0, 0], np.array([[0, 30, 30, 0]] * 4, dtype=float))


def test_rgb_input_and_several_filters(device):
    """6x6x3 * two 3x3x3 filters -> 4x4x2: each filter sums over all three channels."""
    x = random_array((1, 3, 6, 6))
    w = random_array((2, 3, 3, 3), seed=1)
    y = F.conv2d(make(x, device), make(w, device))
    assert y.shape == (1, 2, 4, 4)
    assert_close(y, naive.conv(x, w), rtol=1e-10)


# ---------------------------------------------------------------------- forward
@given(config=conv_configs())
def test_conv2d_matches_the_loops(device, config):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = random_array(x_shape), random_array(w_shape, seed=1), random_array(w_shape[:1], seed=2)
    bias = make(b, device) if with_bias else None
    y = F.conv2d(make(x, device), make(w, device), bias, **kwargs)
    assert_close(y, naive.conv(x, w, b if with_bias else None, **kwargs), rtol=1e-10, atol=1e-12)
    assert y.data.flags.c_contiguous


@pytest.mark.parametrize("d", [1, 3])
@given(data=st.data())
def test_conv1d_conv3d_match_the_loops(device, d, data):
    x_shape, w_shape, with_bias, kwargs = data.draw(conv_configs(d=d, max_side=5 if d == 1 else 3))
    x, w, b = random_array(x_shape), random_array(w_shape, seed=1), random_array(w_shape[:1], seed=2)
    bias = make(b, device) if with_bias else None
    y = CONV[d](make(x, device), make(w, device), bias, **kwargs)
    assert_close(y, naive.conv(x, w, b if with_bias else None, **kwargs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernel, dilation", [((2, 3), (1, 1)), ((4, 1), (1, 2)), ((3, 3), (2, 1))])
def test_same_padding_keeps_the_size(device, kernel, dilation):
    """Total padding d(f - 1) per axis; when it is odd the extra zero goes at the end."""
    x, w = random_array((2, 2, 5, 6)), random_array((3, 2, *kernel), seed=1)
    y = F.conv2d(make(x, device), make(w, device), padding="same", dilation=dilation)
    assert y.shape == (2, 3, 5, 6)
    total = [dl * (f - 1) for f, dl in zip(kernel, dilation)]
    pairs = [(t // 2, t - t // 2) for t in total]
    assert_close(y, naive.conv(x, w, padding=pairs, dilation=dilation), rtol=1e-10, atol=1e-12)
    check_grad(lambda a, b: F.conv2d(a, b, padding="same", dilation=dilation), x[:1, :, :4, :4], w, device=device)


def test_depthwise(device):
    """groups = C: every channel convolved with its own filter(s)."""
    x, w = random_array((2, 4, 5, 5)), random_array((8, 1, 3, 3), seed=1)
    y = F.conv2d(make(x, device), make(w, device), groups=4, padding=1)
    assert y.shape == (2, 8, 5, 5)
    for c in range(4):  # output channels 2c, 2c+1 see input channel c only
        assert_close(y[:, 2 * c : 2 * c + 2], naive.conv(x[:, c : c + 1], w[2 * c : 2 * c + 2], padding=(1, 1)),
                     rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes(device, dtype):
    x, w, b = random_array((2, 3, 6, 5)), random_array((4, 3, 3, 3), seed=1), random_array((4,), seed=2)
    y = F.conv2d(make(x, device, dtype=dtype), make(w, device, dtype=dtype), make(b, device, dtype=dtype),
                 stride=2, padding=1)
    assert y.dtype == dtype
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10)
    assert_close(y, naive.conv(x, w, b, stride=(2, 2), padding=(1, 1)), **tolerance)


def test_unbatched_input(device):
    x, w = random_array((3, 5, 5)), random_array((2, 3, 3, 3), seed=1)
    y = F.conv2d(make(x, device), make(w, device), padding=1)
    assert y.shape == (2, 5, 5)
    assert_close(y, naive.conv(x[None], w, padding=(1, 1))[0], rtol=1e-10)


# -------------------------------------------------------------------- gradients
@given(config=conv_configs(max_side=4))
def test_conv2d_gradcheck(device, config):
    x_shape, w_shape, with_bias, kwargs = config
    arrays = [random_array(x_shape), random_array(w_shape, seed=1)]
    if with_bias:
        arrays.append(random_array(w_shape[:1], seed=2))
    check_grad(lambda *t: F.conv2d(*t, **kwargs), *arrays, device=device)


@pytest.mark.parametrize("d", [1, 3])
@given(data=st.data())
def test_conv1d_conv3d_gradcheck(device, d, data):
    x_shape, w_shape, _, kwargs = data.draw(conv_configs(d=d, max_side=5 if d == 1 else 3))
    b = random_array(w_shape[:1], seed=2)
    check_grad(lambda *t: CONV[d](*t, **kwargs), random_array(x_shape), random_array(w_shape, seed=1), b,
               device=device, fast=d == 3)


def test_conv2d_gradcheck_larger(device):
    x, w, b = random_array((3, 4, 9, 8)), random_array((6, 2, 3, 3), seed=1), random_array((6,), seed=2)
    check_grad(lambda *t: F.conv2d(*t, stride=2, padding=1, groups=2), x, w, b, device=device, fast=True)


def test_only_some_inputs_need_grad(device):
    x = make(random_array((1, 2, 4, 4)), device)
    w = make(random_array((3, 2, 2, 2), seed=1), device, requires_grad=False)
    F.conv2d(x, w).sum().backward()
    assert x.grad.shape == x.shape and w.grad is None


# ------------------------------------------------------------- transposed conv
@st.composite
def transpose_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    Cin, Cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    padding = tuple(draw(st.integers(0, (dl * (f - 1)) // 2)) for f, dl in zip(kernel, dilation))
    output_padding = tuple(draw(st.integers(0, max(s, dl) - 1)) for s, dl in zip(stride, dilation))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(2))
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    return (draw(st.integers(1, 2)), Cin, *spatial), (Cin, Cout // groups, *kernel), kwargs


@given(config=transpose_configs())
def test_conv_transpose2d_matches_the_loops(device, config):
    x_shape, w_shape, kwargs = config
    x, w, b = random_array(x_shape), random_array(w_shape, seed=1), random_array((w_shape[1] * kwargs["groups"],))
    y = F.conv_transpose2d(make(x, device), make(w, device), make(b, device), **kwargs)
    assert_close(y, naive.conv_transpose(x, w, b, **kwargs), rtol=1e-10, atol=1e-12)


@given(config=conv_configs())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(device, config):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>: the same weight array
    read as (C_out, C_in/g, ...) by one and (C_in', C_out'/g, ...) by the other."""
    x_shape, w_shape, _, kwargs = config
    x, w = random_array(x_shape), random_array(w_shape, seed=1)
    y = F.conv2d(make(x, device), make(w, device), **kwargs).numpy()
    g = random_array(y.shape, seed=3)
    # output_padding restores the input size that the strided convolution rounded away
    sizes = [(n - 1) * s - 2 * p + dl * (f - 1) + 1 for n, f, s, p, dl in
             zip(y.shape[2:], w_shape[2:], kwargs["stride"], kwargs["padding"], kwargs["dilation"])]
    output_padding = tuple(n - m for n, m in zip(x_shape[2:], sizes))
    if any(op >= max(s, dl) for op, s, dl in zip(output_padding, kwargs["stride"], kwargs["dilation"])):
        return  # that input size cannot be reached by output_padding
    back = F.conv_transpose2d(make(g, device), make(w, device), output_padding=output_padding, **kwargs)
    assert back.shape == x_shape
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * back.numpy()), rtol=1e-10)


@given(config=transpose_configs())
def test_conv_transpose2d_gradcheck(device, config):
    x_shape, w_shape, kwargs = config
    b = random_array((w_shape[1] * kwargs["groups"],), seed=2)
    check_grad(lambda *t: F.conv_transpose2d(*t, **kwargs), random_array(x_shape), random_array(w_shape, seed=1), b,
               device=device)


def test_conv_transpose2d_upsamples(device):
    """Stride 2, kernel 2: every input pixel paints its own 2x2 block of the output."""
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    y = F.conv_transpose2d(make(x, device), make(np.ones((1, 1, 2, 2)), device), stride=2)
    assert_close(y[0, 0], np.kron(x[0, 0], np.ones((2, 2))))


# ------------------------------------------------------------------ PyTorch agrees
@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(1, 2)), dict(groups=2, stride=(1, 2))],
)
def test_matches_torch(device, kwargs):
    torch = pytest.importorskip("torch")
    x, w, b = random_array((2, 4, 7, 6)), random_array((6, 2 if "groups" in kwargs else 4, 3, 2), seed=1), \
        random_array((6,), seed=2)
    y = F.conv2d(make(x, device), make(w, device), make(b, device), **kwargs)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs)
    assert_close(y, expected.numpy(), rtol=1e-10, atol=1e-12)
    t_kwargs = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    y = F.conv_transpose2d(make(x, device), make(w[:4], device), **t_kwargs)
    expected = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w[:4]), **t_kwargs)
    assert_close(y, expected.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------ errors
def test_channel_mismatch_message(device):
    x, w = make(np.zeros((1, 3, 32, 32)), device), make(np.zeros((6, 1, 5, 5)), device)
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels, weight expects 1 \(weight shape \(6, 1, 5, 5\)\)"):
        F.conv2d(x, w)


def test_kernel_larger_than_padded_input(device):
    x, w = make(np.zeros((1, 1, 3, 3)), device), make(np.zeros((1, 1, 5, 5)), device)
    with pytest.raises(ValueError, match=r"conv2d: kernel size \(5, 5\) is larger than the padded input \(3, 3\).*"
                                         r"output size would be \(-1, -1\)"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match=r"dilated to \(5, 5\)"):
        F.conv2d(x, make(np.zeros((1, 1, 3, 3)), device), dilation=2)
    assert F.conv2d(x, w, padding=1).shape == (1, 1, 1, 1)  # fits once padded


def test_bad_arguments(device):
    x = make(np.zeros((2, 4, 6, 6)), device)
    with pytest.raises(ValueError, match=r"groups=3 must divide both the input channels \(4\)"):
        F.conv2d(x, make(np.zeros((6, 1, 3, 3)), device), groups=3)
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(6, 6\)"):
        F.conv2d(make(np.zeros((6, 6)), device), make(np.zeros((1, 1, 3, 3)), device))
    with pytest.raises(ValueError, match=r"expected a weight of shape \(C_out, C_in/groups, kh, kw\), got shape \(4, 3, 3\)"):
        F.conv2d(x, make(np.zeros((4, 3, 3)), device))
    with pytest.raises(ValueError, match=r"conv1d: expected an input of shape \(N, C, L\)"):
        F.conv1d(x, make(np.zeros((1, 4, 3)), device))
    w = make(np.zeros((2, 4, 3, 3)), device)
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1"):
        F.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(ValueError, match=r"padding must be an int, a tuple, 'valid' or 'same', got padding='full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(TypeError, match=r"stride must be an int or a tuple of 2 ints, got stride=\(1, 2, 3\)"):
        F.conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(ValueError, match=r"stride must be positive"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.conv2d(x, w, make(np.zeros(3), device))
    with pytest.raises(TypeError, match=r"input dtype float64 and weight dtype float32 differ"):
        F.conv2d(x, make(np.zeros((2, 4, 3, 3)), device, dtype=np.float32))
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding must be smaller than stride or dilation"):
        F.conv_transpose2d(x, make(np.zeros((4, 2, 3, 3)), device), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv_transpose2d: input has 4 channels, weight expects 2"):
        F.conv_transpose2d(x, make(np.zeros((2, 4, 3, 3)), device))
