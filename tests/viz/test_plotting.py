"""The training plots: history curves and confusion matrices."""
import json

import numpy as np
import pytest
from PIL import Image

from minicnn import viz
from minicnn.viz import plotting

ROWS = [
    {"epoch": 1, "lr": 0.05, "train_loss": 1.2, "train_accuracy": 0.6, "val_loss": 0.9, "val_accuracy": 0.7},
    {"epoch": 2, "lr": 0.02, "train_loss": 0.5, "train_accuracy": 0.85, "val_loss": None, "val_accuracy": 0.9},
]


@pytest.mark.parametrize("form", ["rows", "columns", "trainer json"])
def test_history_is_read_in_every_form_the_trainer_gives(form, tmp_path):
    if form == "rows":
        history = ROWS
    elif form == "columns":
        history = {key: [row[key] for row in ROWS] for key in ROWS[0]}
    else:
        history = tmp_path / "history.json"
        history.write_text(json.dumps({"history": ROWS, "best_epoch": 2}))
    path = tmp_path / "history.png"
    series = viz.plot_history(history, path)
    np.testing.assert_array_equal(series["train_loss"], [1.2, 0.5])
    np.testing.assert_array_equal(series["val_loss"], [0.9, np.nan])  # null (a nan) in the JSON
    np.testing.assert_array_equal(series["epoch"], [1, 2])
    side = plotting.TILE * plotting.DPI
    with Image.open(path) as png:  # three panels: lr, loss, accuracy
        assert png.size == (6 * side, 2 * side)


def test_history_without_numbers_is_refused():
    with pytest.raises(ValueError, match="no numeric series"):
        viz.plot_history({"note": ["a", "b"]}, "unused.png")


def test_confusion_matrix_rows_are_the_true_classes(tmp_path):
    matrix = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    path = tmp_path / "cm.png"
    drawn = viz.plot_confusion_matrix(matrix, path, class_names=["a", "b", "c"], normalize=True)
    np.testing.assert_allclose(drawn, [[0.8, 0.2, 0], [0.1, 0.9, 0], [0, 0, 0]])
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (3 * plotting.TILE * plotting.DPI,) * 2
    with pytest.raises(ValueError, match=r"square \(K, K\)"):
        viz.plot_confusion_matrix(np.zeros((2, 3)), path)
    with pytest.raises(ValueError, match="2 class names for a 3x3 matrix"):
        viz.plot_confusion_matrix(matrix, path, class_names=["a", "b"])
