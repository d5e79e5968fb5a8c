"""interpolate and pad: forward against NumPy references written here (and
PyTorch when importable), gradchecks over hypothesis-drawn sizes, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from tests.helpers import assert_close, check_grad, make, random_array

seeds = st.integers(0, 2**16)
sides = st.integers(1, 5)


def _np_source(n_in, n_out, align_corners):
    """Continuous source coordinate of every output position along one axis."""
    o = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return o * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    return np.maximum((o + 0.5) * n_in / n_out - 0.5, 0.0)


def _np_bilinear(x, out_h, out_w, align_corners):
    """Each output pixel from its four neighbours (the textbook 2-d formula)."""
    h, w = x.shape[2:]
    sy, sx = np.meshgrid(_np_source(h, out_h, align_corners), _np_source(w, out_w, align_corners), indexing="ij")
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    dy, dx = sy - y0, sx - x0
    return ((1 - dy) * (1 - dx) * x[..., y0, x0] + (1 - dy) * dx * x[..., y0, x1]
            + dy * (1 - dx) * x[..., y1, x0] + dy * dx * x[..., y1, x1])


def _np_nearest(x, out_sizes):
    """out[o] = x[floor(o * n_in / n_out)] along every spatial axis."""
    for axis, n_out in enumerate(out_sizes, start=2):
        n_in = x.shape[axis]
        x = np.take(x, np.minimum((np.arange(n_out) * n_in) // n_out, n_in - 1), axis=axis)
    return x


@given(h=sides, w=sides, out_h=sides, out_w=sides, align_corners=st.booleans(), seed=seeds)
def test_bilinear(device, h, w, out_h, out_w, align_corners, seed):
    x = random_array((2, 1, h, w), seed=seed)
    fn = lambda t: F.interpolate(t, size=(out_h, out_w), mode="bilinear", align_corners=align_corners)  # noqa: E731
    assert_close(fn(make(x, device)), _np_bilinear(x, out_h, out_w, align_corners), rtol=1e-12, atol=1e-14)
    check_grad(fn, x, device=device)


@given(spatial=st.lists(sides, min_size=1, max_size=3), data=st.data(), seed=seeds)
def test_nearest_1d_2d_3d(device, spatial, data, seed):
    out = tuple(data.draw(st.integers(1, 6)) for _ in spatial)
    x = random_array((1, 2, *spatial), seed=seed)
    assert_close(F.interpolate(make(x, device), size=out), _np_nearest(x, out))
    check_grad(lambda t: F.interpolate(t, size=out), x, device=device)


def test_nearest_integer_scale_is_repetition(device):
    x = random_array((1, 2, 3, 4), seed=2)
    expected = x.repeat(3, axis=2).repeat(2, axis=3)
    assert_close(F.interpolate(make(x, device), scale_factor=(3, 2)), expected)


def test_upsampling_gradient_sums_over_the_copies(device):
    x = mc.tensor(np.arange(4.0).reshape(1, 1, 2, 2), requires_grad=True, device=device)
    F.interpolate(x, scale_factor=2).sum().backward()  # every input pixel is copied 4 times
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 2, 2), 4.0))


@pytest.mark.parametrize("mode, shape", [("nearest", (1, 2, 5)), ("linear", (1, 2, 5)), ("nearest", (1, 2, 5, 7)),
                                         ("bilinear", (1, 2, 5, 7)), ("nearest", (1, 1, 3, 4, 5)),
                                         ("trilinear", (1, 1, 3, 4, 5))])
@pytest.mark.parametrize("scale", [0.5, 1.7, 2.0, 3.3])
def test_interpolate_matches_torch(device, mode, shape, scale):
    torch = pytest.importorskip("torch")
    x = random_array(shape, seed=4).astype(np.float32)
    for align_corners in ([None] if mode == "nearest" else [False, True]):
        got = F.interpolate(mc.tensor(x, device=device), scale_factor=scale, mode=mode, align_corners=align_corners)
        expected = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=scale, mode=mode,
                                                   align_corners=align_corners)
        assert got.shape == tuple(expected.shape)
        assert_close(got, expected.numpy(), rtol=1e-5, atol=2e-6)


def test_linear_modes_gradcheck_in_1d_and_3d(device):
    check_grad(lambda t: F.interpolate(t, size=7, mode="linear"), random_array((1, 2, 4), seed=5), device=device)
    check_grad(lambda t: F.interpolate(t, size=(3, 2, 4), mode="trilinear", align_corners=True),
               random_array((1, 1, 2, 3, 2), seed=6), device=device)


def test_interpolate_errors():
    x = mc.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="one of nearest, linear, bilinear, trilinear, got mode='bicubic'"):
        F.interpolate(x, size=2, mode="bicubic")
    with pytest.raises(ValueError, match=r"mode='bilinear' expects a 4-d input .* got shape \(1, 4, 4\)"):
        F.interpolate(mc.ones(1, 4, 4), size=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(ValueError, match=r"size must have 2 entries for 2 spatial axes"):
        F.interpolate(x, size=(2, 3, 4))


# ----------------------------------------------------------------------- pad
NUMPY_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@given(shape=st.lists(st.integers(2, 4), min_size=1, max_size=3), mode=st.sampled_from(sorted(NUMPY_MODES)),
       data=st.data(), seed=seeds)
def test_pad(device, shape, mode, data, seed):
    n_axes = data.draw(st.integers(1, len(shape)))
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    pad = []
    for n in reversed(shape[-n_axes:]):  # last axis first, as PyTorch
        pad += [data.draw(st.integers(0, limit(n))), data.draw(st.integers(0, limit(n)))]
    x = random_array(shape, seed=seed)
    widths = [(0, 0)] * (len(shape) - n_axes) + [tuple(pad[2 * k:2 * k + 2]) for k in range(n_axes)][::-1]
    expected = np.pad(x, widths, mode=NUMPY_MODES[mode])
    assert_close(F.pad(make(x, device), pad, mode=mode), expected)
    check_grad(lambda t: F.pad(t, pad, mode=mode), x, device=device)


def test_constant_pad_value_and_negative_padding_crops(device):
    x = random_array((2, 3, 4), seed=7)
    got = F.pad(make(x, device), (-1, 2, 1, -2), value=9.0)  # W: crop 1 left, pad 2 right; H: pad 1 top, crop 2
    expected = np.pad(x[:, :-2, 1:], [(0, 0), (1, 0), (0, 2)], constant_values=9.0)
    assert_close(got, expected)
    check_grad(lambda t: F.pad(t, (-1, 2, 1, -2)), x, device=device)


def test_pad_gradient_of_reflect_adds_the_mirrored_copies(device):
    x = mc.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True, device=device)
    y = F.pad(x, (2, 1), mode="reflect")  # [3 2 | 1 2 3 | 2]
    np.testing.assert_array_equal(y.numpy(), [[[3, 2, 1, 2, 3, 2]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[1, 3, 2]]])


def test_pad_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = random_array((1, 2, 4, 5), seed=8)
    for mode in ("constant", "reflect", "replicate", "circular"):
        expected = torch.nn.functional.pad(torch.tensor(x), (1, 3, 2, 0), mode=mode)
        assert_close(F.pad(make(x, device), (1, 3, 2, 0), mode=mode), expected.numpy())


def test_pad_errors():
    x = mc.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"pairs for at most 4 axes, got \(1, 2, 3\)"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"reflect padding \(3, 0\) of axis 3 needs at most 2"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"mode='reflect' takes no value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError, match=r"got mode='mirror'"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match=r"crops input of shape \(1, 1, 3, 3\) below size 0"):
        F.pad(x, (-2, -2))
