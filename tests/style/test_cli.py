"""The style / dream command functions, driven through an argparse parser built here."""
import argparse

import pytest
from PIL import Image

from minicnn.style.cli import add_dream_arguments, add_style_arguments, run_dream, run_style
from minicnn.style.images import save_image


def parser_with(add):
    parser = argparse.ArgumentParser(prog="minicnn")
    add(parser)
    return parser


@pytest.fixture
def image_files(tmp_path, content_image, style_image):
    return save_image(content_image, tmp_path / "c.png"), save_image(style_image, tmp_path / "s.jpg")


def test_style_command_writes_an_image_of_the_requested_size(tmp_path, image_files, capsys):
    content, style = image_files
    out = tmp_path / "out" / "result.png"
    args = parser_with(add_style_arguments).parse_args(
        [content, style, "-o", str(out), "--size", "40", "--steps", "4", "--optimizer", "adam",
         "--style-layers", "conv1_1,conv2_1", "--content-layer", "conv2_1", "--seed", "0", "--save-every", "2"])
    assert run_style(args) == 0
    with Image.open(out) as img:
        img.verify()
    with Image.open(out) as img:
        assert img.format == "PNG" and img.mode == "RGB" and img.size == (40, 40)
    assert (tmp_path / "out" / "result_step0002.png").exists() and (tmp_path / "out" / "result_step0004.png").exists()
    captured = capsys.readouterr()
    assert "RANDOM-weights fallback" in captured.err and "RANDOM VGG-19 weights" in captured.out
    assert "style:" in captured.err and "style=" in captured.err      # the tqdm bar with the losses


def test_dream_command(tmp_path, image_files, capsys):
    out = tmp_path / "dream.jpg"
    args = parser_with(add_dream_arguments).parse_args(
        [image_files[0], "-o", str(out), "--layers", "conv2_1", "--octaves", "2", "--steps", "2", "--size", "48",
         "--seed", "1"])
    assert run_dream(args) == 0
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (48, 48)
    assert "objective" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--steps", "-2"], ["--size", "0"]])
def test_style_rejects_non_positive_numbers(argv, capsys):
    with pytest.raises(SystemExit):
        parser_with(add_style_arguments).parse_args(["a.png", "b.png", "-o", "x.png"] + argv)
    assert "must be positive" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--octaves", "0"], ["--octaves", "-1"], ["--steps", "0"]])
def test_dream_rejects_non_positive_numbers(argv, capsys):
    with pytest.raises(SystemExit):
        parser_with(add_dream_arguments).parse_args(["a.png", "-o", "x.png"] + argv)
    assert "must be positive" in capsys.readouterr().err


def test_missing_file_and_bad_layer(tmp_path, image_files):
    args = parser_with(add_style_arguments).parse_args([str(tmp_path / "none.png"), image_files[1], "-o", "x.png"])
    with pytest.raises(FileNotFoundError, match="none.png"):
        run_style(args)
    args = parser_with(add_dream_arguments).parse_args([image_files[0], "-o", "x.png", "--layers", "conv9_9"])
    with pytest.raises(ValueError, match="valid names"):
        run_dream(args)


def test_non_vgg_weights_file(tmp_path, image_files):
    import numpy as np

    np.savez(tmp_path / "other.npz", **{"fc.weight": np.zeros((2, 2), np.float32)})
    args = parser_with(add_style_arguments).parse_args(
        [*image_files, "-o", str(tmp_path / "x.png"), "--weights", str(tmp_path / "other.npz")])
    from minicnn.style import WeightsError

    with pytest.raises(WeightsError, match="not a VGG-19 weights file"):
        run_style(args)
