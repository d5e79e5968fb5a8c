"""Transforms: exact results where the answer is known, layouts, seeds, batch forms."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.data import transforms as T
from minicnn.data._warp import affine_matrices, inverse_of, warp_affine

RNG = np.random.default_rng(0)
CHW = RNG.random((3, 9, 9)).astype(np.float32)
HWC = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)


def constant(value, angle=None, **kw):
    return T.RandomAffine((value, value), **kw)


# ------------------------------------------------------------ deterministic
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("k", [1, 2, 3, -1])
def test_rotation_by_multiples_of_90_degrees_is_rot90(interpolation, k):
    rot = T.RandomRotation((90 * k, 90 * k), interpolation=interpolation)
    np.testing.assert_allclose(rot(CHW), np.rot90(CHW, k, axes=(1, 2)), atol=1e-5)
    square = HWC[:, :9]
    np.testing.assert_array_equal(rot(square), np.rot90(square, k, axes=(0, 1)))


def test_rotation_expand_of_90_degrees_swaps_the_sides():
    out = T.RandomRotation((90, 90), expand=True)(HWC)
    np.testing.assert_array_equal(out, np.rot90(HWC, 1, axes=(0, 1)))


@pytest.mark.parametrize("img", [CHW, HWC], ids=["chw", "hwc"])
def test_identity_affine_is_the_identity(img):
    out = T.RandomAffine(0, translate=(0, 0), scale=(1, 1), shear=0)(img)
    assert out.dtype == img.dtype and out.shape == img.shape
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_integer_translation_shifts_with_fill():
    # translate by exactly +2 columns: out[:, :, j] = x[:, :, j - 2], fill on the left
    forward = affine_matrices(np.zeros(1), np.array([[2.0, 0.0]]), np.ones(1), np.zeros(1), np.zeros(1), np.array([[4.0, 4.0]]))
    out = warp_affine(CHW[None], inverse_of(forward), (9, 9), fill=-1.0)[0]
    np.testing.assert_allclose(out[:, :, 2:], CHW[:, :, :-2], atol=1e-6)
    assert (out[:, :, :2] == -1).all()


@pytest.mark.parametrize("mode,numpy_mode", [("edge", "edge"), ("reflect", "reflect"), ("wrap", "wrap")])
def test_fill_modes_match_numpy_pad(mode, numpy_mode):
    forward = affine_matrices(np.zeros(1), np.array([[3.0, -2.0]]), np.ones(1), np.zeros(1), np.zeros(1), np.array([[4.0, 4.0]]))
    out = warp_affine(CHW[None], inverse_of(forward), (9, 9), "nearest", fill_mode=mode)[0]
    padded = np.pad(CHW, ((0, 0), (2, 2), (3, 3)), mode=numpy_mode)
    np.testing.assert_array_equal(out, padded[:, 4:13, 0:9])


def test_flips_are_slicing():
    assert np.array_equal(T.RandomHorizontalFlip(p=1)(CHW), CHW[:, :, ::-1])
    assert np.array_equal(T.RandomVerticalFlip(p=1)(CHW), CHW[:, ::-1, :])
    assert np.array_equal(T.RandomHorizontalFlip(p=1)(HWC), HWC[:, ::-1, :])
    assert np.array_equal(T.RandomVerticalFlip(p=1)(HWC), HWC[::-1])
    assert np.array_equal(T.RandomHorizontalFlip(p=0)(HWC), HWC)


def test_center_crop_offsets():
    img = np.arange(7 * 8, dtype=np.float32).reshape(1, 7, 8)
    np.testing.assert_array_equal(T.CenterCrop((3, 4))(img), img[:, 2:5, 2:6])
    big = T.CenterCrop(10)(img)
    assert big.shape == (1, 10, 10)
    np.testing.assert_array_equal(big[:, 1:8, 1:9], img)
    assert big[:, 0].sum() == 0


def test_random_crop_is_a_window_of_the_padded_image():
    img = np.arange(36, dtype=np.float32).reshape(1, 6, 6) + 1
    padded = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    crop = T.RandomCrop(6, padding=2, rng=3)
    for _ in range(10):
        out = crop(img)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (6, 6), axis=(1, 2))[0]
        assert any(np.array_equal(out[0], w) for w in windows.reshape(-1, 6, 6))
    np.testing.assert_array_equal(T.RandomCrop(6)(img), img)  # no padding: the only window
    reflect = T.RandomCrop(8, padding=1, padding_mode="reflect")(img)
    np.testing.assert_array_equal(reflect, np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="reflect"))


def test_resize_constant_stays_constant_and_same_size_is_identity():
    img = np.full((2, 5, 7), 0.25, np.float32)
    for size in [(13, 3), (5, 7), 11]:
        for mode in ["bilinear", "nearest"]:
            np.testing.assert_allclose(T.Resize(size, mode)(img), 0.25, atol=1e-7)
    np.testing.assert_array_equal(T.Resize((9, 11))(HWC), HWC)
    assert T.Resize(18)(HWC).shape == (18, 22, 3)  # shorter side 9 -> 18


def test_resize_doubling_nearest_repeats_pixels():
    img = RNG.random((1, 4, 5)).astype(np.float32)
    out = T.Resize((8, 10), "nearest")(img)
    np.testing.assert_array_equal(out, img.repeat(2, axis=1).repeat(2, axis=2))


def test_to_tensor_and_normalize():
    x = T.ToTensor()(HWC)
    assert x.shape == (3, 9, 11) and x.dtype == np.float32
    np.testing.assert_allclose(x, HWC.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    out = T.Normalize([0.5, 0.25, 0.0], [0.5, 0.25, 2.0])(x)
    np.testing.assert_allclose(out[1], (x[1] - 0.25) / 0.25, rtol=1e-5)
    with pytest.raises(ValueError, match="3 channels"):
        T.Normalize([0.5, 0.5], [1, 1])(x)


def test_color_jitter_factors():
    img = np.full((3, 4, 4), 0.4, np.float32)
    img[0] = 0.2
    bright = T.ColorJitter(brightness=(1.5, 1.5))(img)
    np.testing.assert_allclose(bright, img * 1.5, atol=1e-6)
    flat = T.ColorJitter(contrast=(0.0, 0.0))(img)
    grey_mean = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).mean()
    np.testing.assert_allclose(flat, grey_mean, atol=1e-6)
    u8 = T.ColorJitter(brightness=(2.0, 2.0))(HWC)
    np.testing.assert_array_equal(u8, np.clip(HWC.astype(int) * 2, 0, 255))


def test_gaussian_noise_statistics_and_clip():
    img = np.full((1, 200, 200), 0.5, np.float32)
    noisy = T.GaussianNoise(0.1, rng=0)(img)
    assert noisy.dtype == np.float32
    assert abs(float((noisy - img).std()) - 0.1) < 0.005 and abs(float((noisy - img).mean())) < 0.005
    clipped = T.GaussianNoise(1.0, clip=(0, 1), rng=0)(img)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_random_resized_crop_full_box_is_identity():
    out = T.RandomResizedCrop((9, 11), scale=(1, 1), ratio=(11 / 9, 11 / 9))(HWC)
    np.testing.assert_array_equal(out, HWC)
    assert T.RandomResizedCrop(5)(CHW).shape == (3, 5, 5)


# ---------------------------------------------------------------- layouts
@pytest.mark.parametrize("transform", [T.RandomAffine(10), T.RandomCrop(4), T.Resize(4), T.RandomHorizontalFlip(), T.CenterCrop(3)])
def test_wrong_layouts_say_which_layout_is_expected(transform):
    with pytest.raises(ValueError, match="must be CHW"):
        transform(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="must be HWC"):
        transform(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(TypeError, match="int64"):
        transform(np.zeros((3, 8, 8), np.int64))


def test_float_only_and_uint8_only_transforms():
    with pytest.raises(TypeError, match="ToTensor"):
        T.Normalize([0.5], [0.5])(HWC)
    with pytest.raises(TypeError, match="HWC uint8"):
        T.ToTensor()(CHW)
    with pytest.raises(TypeError, match="CHW float"):
        T.GaussianNoise(0.1)(HWC)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="fill_mode='mirror'"):
        T.RandomAffine(10, fill_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode='circular'"):
        T.RandomCrop(4, padding_mode="circular")
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(20)(CHW)


# ------------------------------------------------------------ randomness
def test_seeded_reproducibility():
    pipeline = T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(), T.RandomAffine(30, scale=(0.8, 1.2)),
                          T.ColorJitter(0.3, 0.3), T.GaussianNoise(0.05)])
    mc.manual_seed(7)
    a = [pipeline(CHW) for _ in range(3)]
    mc.manual_seed(7)
    b = [pipeline(CHW) for _ in range(3)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    c = T.RandomAffine(30, rng=5)(CHW)
    mc.manual_seed(99)
    assert np.array_equal(c, T.RandomAffine(30, rng=5)(CHW))


def test_rotation_keeps_the_centre_pixel():
    img = RNG.random((1, 9, 9)).astype(np.float32)
    for _ in range(5):
        out = T.RandomRotation(180, interpolation="bilinear")(img)
        assert abs(out[0, 4, 4] - img[0, 4, 4]) < 1e-5


# ------------------------------------------------------------------ batch
BATCH = RNG.random((6, 3, 8, 8)).astype(np.float32)


def test_batch_flip_flips_each_sample_or_not():
    out = T.batch.RandomHorizontalFlip(rng=1)(BATCH)
    flipped = [np.array_equal(o, b[:, :, ::-1]) for o, b in zip(out, BATCH)]
    kept = [np.array_equal(o, b) for o, b in zip(out, BATCH)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    assert np.array_equal(T.batch.RandomVerticalFlip(p=1)(BATCH), BATCH[:, :, ::-1])


def test_batch_crop_takes_per_sample_windows():
    out = T.batch.RandomCrop(8, padding=3, rng=0)(BATCH)
    padded = np.pad(BATCH, ((0, 0), (0, 0), (3, 3), (3, 3)))
    offsets = set()
    for n in range(len(BATCH)):
        hits = [(i, j) for i in range(7) for j in range(7) if np.array_equal(out[n], padded[n, :, i : i + 8, j : j + 8])]
        assert hits
        offsets.add(hits[0])
    assert len(offsets) > 1  # different samples got different offsets


@given(angle=st.sampled_from([90, 180, 270]), interpolation=st.sampled_from(["nearest", "bilinear"]))
def test_batch_rotation_matches_per_sample(angle, interpolation):
    out = T.batch.RandomRotation((angle, angle), interpolation=interpolation)(BATCH)
    np.testing.assert_allclose(out, np.rot90(BATCH, angle // 90, axes=(2, 3)), atol=1e-5)


def test_batch_affine_equals_per_sample_warps():
    tr = T.batch.RandomAffine(20, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-5, 5, -3, 3), rng=4)
    out = tr(BATCH)
    forward = tr.matrices(np.random.default_rng(4), len(BATCH), 8, 8)
    for n in range(len(BATCH)):
        one = warp_affine(BATCH[n : n + 1], inverse_of(forward[n : n + 1]), (8, 8))[0]
        np.testing.assert_allclose(out[n], one, atol=1e-6)
    assert len({float(np.abs(o - b).sum()) for o, b in zip(out, BATCH)}) == len(BATCH)


def test_batch_transforms_accept_tensors_and_uint8(device):
    x = mc.tensor(BATCH, device=device)
    out = T.batch.Compose([T.batch.RandomCrop(8, padding=1), T.batch.RandomAffine(10), T.batch.Normalize([0.5] * 3, [0.2] * 3),
                           T.batch.GaussianNoise(0.1), T.batch.RandomResizedCrop(6), T.batch.ColorJitter(0.2)])(x)
    assert isinstance(out, mc.Tensor) and out.shape == (6, 3, 6, 6) and out.device == device
    u8 = (BATCH * 255).astype(np.uint8)
    out = T.batch.RandomAffine(15)(u8)
    assert out.dtype == np.uint8 and out.shape == u8.shape


def test_batch_wrong_layout():
    with pytest.raises(ValueError, match="NHWC"):
        T.batch.RandomHorizontalFlip()(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        T.batch.RandomAffine(5)(np.zeros((3, 8, 8), np.float32))
