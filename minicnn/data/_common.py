"""Helpers shared by the data package: optional packages, the cache folder,
atomic file writes and the random generator that transforms draw from.

Nothing here imports an optional package at import time: ``import
minicnn.data`` stays cheap, and a missing extra is reported only when a
function that needs it is called.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .. import backend

EXTRA_HINT = 'pip install "minicnn[data]"'


def require(module, feature):
    """Import an optional package, or say which extra installs it.

    ``require("PIL.Image", "ImageFolder")`` returns the module; without Pillow
    it raises ImportError naming the feature and ``pip install "minicnn[data]"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise ImportError(
            f"{feature} needs the optional package {package!r}, which is not installed "
            f"({exc}); install the data extra: {EXTRA_HINT}"
        ) from exc


# ------------------------------------------------------------------ cache folder
def cache_dir():
    """Where parsed datasets are cached: ``$MINICNN_CACHE``, else
    ``$XDG_CACHE_HOME/minicnn``, else ``~/.cache/minicnn`` (created on demand)."""
    if os.environ.get("MINICNN_CACHE"):
        path = Path(os.environ["MINICNN_CACHE"])
    elif os.environ.get("XDG_CACHE_HOME"):
        path = Path(os.environ["XDG_CACHE_HOME"]) / "minicnn"
    else:
        path = Path.home() / ".cache" / "minicnn"
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in the folder of ``path``; on success it replaces
    ``path`` in one ``os.replace``, on failure it is removed.

    A reader therefore sees either no file or the whole file, never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_npy_atomic(path, array):
    """``numpy.save`` to exactly ``path``, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


# ------------------------------------------------------------------- randomness
_local = threading.local()


def as_generator(rng):
    """None stays None; an int seeds a new ``numpy.random.Generator``; a Generator is kept."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def get_rng(explicit=None):
    """The generator a random transform draws from.

    In order of priority: the transform's own ``rng`` (if it was given one);
    the per-batch generator a ``DataLoader`` installs while it builds a batch
    (derived from the loader's seed, epoch and batch number, so augmentation is
    reproducible with prefetch threads too); otherwise minicnn's CPU generator,
    which ``minicnn.manual_seed`` seeds.
    """
    if explicit is not None:
        return explicit
    rng = getattr(_local, "rng", None)
    return rng if rng is not None else backend.generator(backend.CPU)


@contextlib.contextmanager
def use_rng(rng):
    """Make ``rng`` the generator of the transforms run by this thread."""
    previous = getattr(_local, "rng", None)
    _local.rng = rng
    try:
        yield rng
    finally:
        _local.rng = previous
