"""load_image / save_image / resize_image: errors, mode conversions, round trips."""
import numpy as np
import pytest
from PIL import Image

import minicnn as mc
from minicnn.style import image_to_tensor, load_image, resize_image, save_image, tensor_to_image
from minicnn.style.images import read_image_argument


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found: .*nope.png"):
        load_image(tmp_path / "nope.png")


def test_unreadable_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    with pytest.raises(ValueError, match="cannot read image .*notes.png"):
        load_image(path)
    with pytest.raises(ValueError, match="directory"):
        load_image(tmp_path)


def test_rgba_composited_on_white(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 200                 # red
    rgba[:2, :, 3] = 255               # top half opaque, bottom half fully transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = load_image(path)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[:2] == [200, 0, 0]).all()
    assert (rgb[2:] == 255).all()      # transparent -> white, not the hidden red


def test_grey_and_palette_become_rgb(tmp_path):
    grey = (np.arange(20, dtype=np.uint8).reshape(4, 5) * 10)
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    rgb = load_image(tmp_path / "l.png")
    assert rgb.shape == (4, 5, 3) and all(np.array_equal(rgb[..., c], grey) for c in range(3))
    colour = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(colour).quantize(8).save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as img:
        assert img.mode == "P"
        expected = np.asarray(img.convert("RGB"))
    assert np.array_equal(load_image(tmp_path / "p.png"), expected)


def test_16_bit_grey_is_refused_with_the_mode(tmp_path):
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(ValueError, match="mode 'I;16'|mode 'I'"):
        load_image(tmp_path / "deep.png")


def test_png_round_trip_and_sizes(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (10, 16, 3), dtype=np.uint8)
    path = save_image(image, tmp_path / "sub" / "x.png")
    assert np.array_equal(load_image(path), image)
    assert load_image(path, size=8).shape == (5, 8, 3)            # longer side 8, aspect kept
    assert resize_image(image, (7, 3)).shape == (7, 3, 3)
    with pytest.raises(ValueError, match="suffix"):
        save_image(image, tmp_path / "x.unknownformat")


def test_tensor_round_trip(device):
    image = np.random.default_rng(2).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = image_to_tensor(image, device)
    assert t.shape == (1, 3, 5, 7) and t.dtype == mc.float32
    assert float(t.max().item()) <= 1.0
    assert np.array_equal(tensor_to_image(t), image)
    assert tensor_to_image(mc.full((1, 3, 2, 2), 3.0)).max() == 255    # clipped


def test_sample_image_argument():
    pytest.importorskip("sklearn")
    china = read_image_argument("sample:china.jpg", size=64)
    assert china.shape == (43, 64, 3)
    with pytest.raises(ValueError, match="available: china, flower"):
        read_image_argument("sample:mona_lisa")
