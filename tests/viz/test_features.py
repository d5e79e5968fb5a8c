"""Forward hooks, feature maps, filters and gradient ascent."""
import sys

import numpy as np
import pytest
from PIL import Image

import minicnn as mc
from minicnn import nn, viz
from minicnn.viz import plotting

from ._models import assert_untouched, small_cnn, snapshot


class Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_activations_capture_the_named_layers_with_their_shapes_and_values():
    model = small_cnn()
    x = np.random.default_rng(0).uniform(size=(2, 1, 12, 12)).astype(np.float32)
    outputs = viz.activations(model, x, ["0", "2", "4", "6"])
    assert list(outputs) == ["0", "2", "4", "6"]
    assert {k: v.shape for k, v in outputs.items()} == {
        "0": (2, 4, 12, 12), "2": (2, 4, 6, 6), "4": (2, 6, 6, 6), "6": (2, 4)}
    with mc.no_grad():
        expected = mc.tensor(x)
        for k, layer in enumerate(model):
            expected = layer(expected)
            if str(k) in outputs:
                np.testing.assert_allclose(outputs[str(k)], expected.numpy(), rtol=1e-6)
    assert all(not m._forward_hooks for m in model.modules())


def test_activations_of_nested_layers_use_dotted_names():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), nn.Flatten())
    outputs = viz.activations(model, np.ones((3, 5, 5), dtype=np.float32), "0.1")
    assert outputs["0.1"].shape == (1, 2, 3, 3) and outputs["0.1"].min() >= 0


def test_hooks_are_removed_and_modes_restored_even_when_the_forward_pass_fails():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), Boom())
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        viz.activations(model, np.zeros((1, 5, 5), dtype=np.float32), ["0"])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(m.training for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())


def test_an_unknown_layer_lists_the_valid_names_and_registers_nothing():
    model = small_cnn()
    with pytest.raises(ValueError, match=r"no layer named 'fc'; valid layer names: 0, 1, 2, 3, 4, 5, 6$"):
        viz.activations(model, np.zeros((1, 12, 12), dtype=np.float32), ["0", "fc"])
    assert all(not m._forward_hooks for m in model.modules())


def test_feature_maps_picture_has_a_block_per_layer(tmp_path):
    model = small_cnn()
    before = snapshot(model)
    path = tmp_path / "maps.png"
    outputs = viz.plot_feature_maps(model, np.ones((1, 12, 12), dtype=np.float32), ["0", "3"], path, max_maps=16)
    assert [o.shape[1] for o in outputs.values()] == [4, 6]
    side = plotting.TILE * plotting.DPI
    with Image.open(path) as png:  # 6 columns; one row per layer plus a quarter tile for each title
        assert png.format == "PNG" and png.size == (6 * side, round(2.5 * side))
    assert_untouched(model, before)


def test_filters_are_rgb_tiles_for_rgb_input_and_grey_tiles_otherwise(tmp_path):
    model = small_cnn(in_channels=3)
    tiles = viz.plot_filters(model, tmp_path / "first.png")
    weight = model[0].weight.numpy()  # (4, 3, 3, 3)
    assert tiles.shape == (4, 3, 3, 3)
    w = np.moveaxis(weight[1], 0, -1)
    np.testing.assert_allclose(tiles[1], (w - w.min()) / (w.max() - w.min()), rtol=1e-6)
    assert viz.filter_tiles(model, "3").shape == (6 * 4, 3, 3)  # a deeper layer: one tile per input channel
    assert viz.filter_tiles(small_cnn()).shape == (4, 3, 3)
    with Image.open(tmp_path / "first.png") as png:
        assert png.size == (4 * plotting.TILE * plotting.DPI, plotting.TILE * plotting.DPI)
    with pytest.raises(ValueError, match="layer '1' is a ReLU, not a Conv2d"):
        viz.filter_tiles(model, "1")


def test_gradient_ascent_increases_the_chosen_filters_activation(tmp_path):
    model = small_cnn()
    before = snapshot(model)
    start = np.random.default_rng(1).uniform(0.4, 0.6, size=(1, 12, 12)).astype(np.float32)

    def mean_activation(image, index):
        return viz.activations(model, image, "3")["3"][0, index].mean()

    path = tmp_path / "filter.png"
    for index in (0, 5):
        image = viz.visualize_filter(model, "3", index, steps=15, init=start, path=path)
        assert image.shape == (1, 12, 12)
        assert mean_activation(image, index) > mean_activation(start, index) + 0.1
    assert_untouched(model, before)
    with Image.open(path) as png:
        assert png.size == (plotting.TILE * plotting.DPI,) * 2


def test_each_ascent_step_moves_the_image_by_lr_in_l2_norm():
    model = small_cnn()
    start = np.full((1, 12, 12), 0.5, dtype=np.float32)
    one_step = viz.visualize_filter(model, "0", 1, steps=1, lr=0.3, init=start)
    assert np.linalg.norm(one_step - start) == pytest.approx(0.3, rel=1e-4)


def test_gradient_ascent_bad_inputs():
    model = small_cnn()
    with pytest.raises(ValueError, match=r"filter index 6 is out of range: layer '3' has 6 filters \(0..5\)"):
        viz.visualize_filter(model, "3", 6, steps=1)
    with pytest.raises(ValueError, match="no layer named 'conv'"):
        viz.visualize_filter(model, "conv", 0)
    fully_convolutional = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1))
    with pytest.raises(ValueError, match=r"does not fix its input size.*pass shape="):
        viz.visualize_filter(fully_convolutional, "0", 0)
    assert viz.visualize_filter(fully_convolutional, "0", 0, steps=2, shape=(1, 7, 9)).shape == (1, 7, 9)


def test_expected_input_shape_comes_from_the_layers():
    assert viz.expected_input_shape(small_cnn(in_channels=3, size=20)) == (3, 20, 20)
    assert viz.expected_input_shape(nn.Sequential(nn.Conv2d(2, 2, 3), nn.AdaptiveAvgPool2d(1))) == (2, None, None)


def test_pictures_without_matplotlib_say_how_to_install_it(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    model = small_cnn()
    with pytest.raises(ImportError, match=r'pip install "minicnn\[viz\]"'):
        viz.plot_filters(model, tmp_path / "f.png")
    # arrays need no matplotlib
    assert viz.saliency_map(model, np.zeros((1, 12, 12), dtype=np.float32)).shape == (12, 12)
