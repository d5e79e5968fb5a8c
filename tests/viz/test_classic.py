"""Sobel, Scharr and line detectors on images whose responses are known exactly."""
import numpy as np
import pytest
from PIL import Image

from minicnn import viz
from minicnn.viz import classic, plotting


def test_kernels_are_the_textbook_arrays():
    k = viz.CLASSIC_KERNELS
    np.testing.assert_array_equal(k["sobel_x"], [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(k["sobel_y"], [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    np.testing.assert_array_equal(k["scharr_x"], [[3, 0, -3], [10, 0, -10], [3, 0, -3]])
    np.testing.assert_array_equal(k["line_vertical"], [[-1, 2, -1]] * 3)
    np.testing.assert_array_equal(k["line_horizontal"], [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
    np.testing.assert_array_equal(k["line_45"], [[-1, -1, 2], [-1, 2, -1], [2, -1, -1]])
    np.testing.assert_array_equal(k["line_135"], [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]])
    assert all(kernel.sum() == 0 for kernel in k.values())  # flat regions give 0


def test_sobel_on_a_vertical_step_edge_responds_on_the_edge_columns_only():
    image = np.zeros((6, 8), dtype=np.float32)
    image[:, 4:] = 1.0  # dark columns 0-3, bright columns 4-7: the edge lies between columns 3 and 4
    responses = viz.apply_kernels(image)
    expected = np.zeros((6, 8))
    expected[:, 3:5] = -4  # (1 + 2 + 1) * (0 - 1): brighter to the right gives a negative sobel_x
    np.testing.assert_array_equal(responses["sobel_x"], expected)
    np.testing.assert_array_equal(responses["scharr_x"], expected * 4)  # 3 + 10 + 3 = 16
    np.testing.assert_array_equal(responses["sobel_y"], 0)  # no horizontal edge, and none at the border
    np.testing.assert_array_equal(responses["line_horizontal"], 0)


@pytest.mark.parametrize("name, line", [
    ("line_vertical", lambda r, c: c == 4),
    ("line_horizontal", lambda r, c: r == 4),
    ("line_45", lambda r, c: r + c == 8),
    ("line_135", lambda r, c: r == c),
])
def test_each_line_detector_responds_most_to_its_own_direction(name, line):
    rows, cols = np.indices((9, 9))
    image = line(rows, cols).astype(np.float32)
    responses = viz.apply_kernels(image)
    assert responses[name][4, 4] == 6  # three line pixels under the +2 weights
    others = [r[4, 4] for key, r in responses.items() if key.startswith("line_") and key != name]
    assert len(others) == 3 and max(others) < responses[name][4, 4]


def test_apply_kernels_takes_uint8_photos_and_writes_a_picture(tmp_path):
    photo = np.zeros((20, 30, 3), dtype=np.uint8)
    photo[..., 0] = 255  # pure red
    grey = classic.to_grey(photo)
    np.testing.assert_allclose(grey, 0.299, rtol=1e-6)
    path = tmp_path / "kernels.png"
    responses = viz.apply_kernels(photo, {"sobel_x": classic.SOBEL_X}, path=path)
    assert list(responses) == ["sobel_x"] and responses["sobel_x"].shape == (20, 30)
    tile = plotting.TILE * plotting.DPI  # a small photo: one tile wide, of the photo's aspect plus a title
    with Image.open(path) as png:  # the grey image and one response
        assert png.size == (2 * tile, round(tile * (20 / 30 + 0.15)))


def test_apply_kernels_bad_inputs():
    with pytest.raises(ValueError, match="square of one odd size"):
        viz.apply_kernels(np.zeros((5, 5)), {"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"expected an image \(H, W\) or \(H, W, 3\)"):
        viz.apply_kernels(np.zeros((2, 5, 5, 3)))
