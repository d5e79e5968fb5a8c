"""``minicnn viz``: a parser built with add_viz_arguments, run on a trainer-style checkpoint."""
import argparse

import numpy as np
import pytest
from PIL import Image

import minicnn as mc
from minicnn import models
from minicnn.viz.cli import add_viz_arguments, load_model, run_viz

MEAN, STD = 0.1307, 0.3081


@pytest.fixture
def checkpoint(tmp_path):
    """What ``minicnn train`` writes for LeNet-5 on the MNIST sample (weights + info)."""
    net = models.lenet5(padding=2)
    path = tmp_path / "best.pth"
    mc.save({"kind": "minicnn-trainer-checkpoint", "epoch": 1, "model": net.state_dict(),
             "info": {"model": "lenet5", "model_kwargs": {"padding": 2}, "dataset": "mnist-sample",
                      "input_shape": [1, 28, 28], "mean": [MEAN], "std": [STD], "normalize": True}}, path)
    return path, net


@pytest.fixture
def digit(tmp_path):
    """A dark stroke on light paper, 40x40 (resized to 28x28 and inverted when read)."""
    pixels = np.full((40, 40), 255, dtype=np.uint8)
    pixels[8:32, 18:22] = 0
    path = tmp_path / "digit.png"
    Image.fromarray(pixels).save(path)
    return path


def viz_command(argv):
    parser = argparse.ArgumentParser(prog="minicnn viz")
    add_viz_arguments(parser)
    return run_viz(parser.parse_args(argv))


def test_load_model_rebuilds_the_model_with_the_training_normalisation(checkpoint):
    path, net = checkpoint
    model, info = load_model(path)
    assert info["model"] == "lenet5"
    x = mc.rand(2, 1, 28, 28)
    with mc.no_grad():
        np.testing.assert_allclose(model(x).numpy(), net((x - MEAN) / STD).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("what, extra, tiles", [
    ("features", ["--layer", "features.0", "--layer", "features.3"], None),
    ("filters", [], (6, 1)),
    ("saliency", ["--target", "3"], (3, 1)),
    ("gradcam", [], (3, 1)),
    ("occlusion", ["--size", "7", "--stride", "7", "--fill", "0"], (3, 1)),
    ("filter-max", ["--layer", "features.3", "--filter", "2", "--steps", "3"], (1, 1)),
])
def test_every_picture_is_written(what, extra, tiles, checkpoint, digit, tmp_path, capsys):
    out = tmp_path / f"{what}.png"
    argv = [what, "--checkpoint", str(checkpoint[0]), "--image", str(digit), "-o", str(out), *extra]
    assert viz_command(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as png:
        assert png.format == "PNG"
        if tiles:
            assert png.size == (tiles[0] * 150, tiles[1] * 150)


@pytest.mark.parametrize("argv, message", [
    (["saliency"], "--image is needed for saliency"),
    (["gradcam", "--image", "{digit}", "--layer", "nope"], "no layer named 'nope'; valid layer names: features, "),
    (["saliency", "--image", "{digit}", "--target", "10"], "class index 10 is out of range"),
    (["gradcam", "--image", "{digit}", "--layer", "a", "--layer", "b"], "--layer takes one layer for gradcam"),
    (["saliency", "--image", "missing.png"], "image 'missing.png' does not exist"),
])
def test_errors_are_one_line_and_exit_status_2(argv, message, checkpoint, digit, tmp_path, capsys):
    argv = [a.replace("{digit}", str(digit)) for a in argv]
    status = viz_command([*argv, "--checkpoint", str(checkpoint[0]), "-o", str(tmp_path / "x.png")])
    assert status == 2
    assert message in capsys.readouterr().err


def test_a_checkpoint_without_model_information_is_refused(tmp_path, capsys):
    path = tmp_path / "weights.pth"
    mc.save(models.lenet5().state_dict(), path)
    assert viz_command(["filters", "--checkpoint", str(path), "-o", str(tmp_path / "f.png")]) == 2
    assert "does not record which model it holds" in capsys.readouterr().err


def test_the_image_is_converted_to_what_the_model_takes(digit):
    from minicnn.viz.cli import load_image

    image = load_image(digit, (1, 28, 28))
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert image.mean() < 0.5 and image.max() == pytest.approx(1.0)  # inverted: a light stroke on black
    assert load_image(digit, (3, 32, 32), invert="no").shape == (3, 32, 32)
