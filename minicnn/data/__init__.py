"""Datasets, loaders and augmentation: ``from minicnn import data``.

* ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``
* ``DataLoader`` (+ ``default_collate``, samplers): batches of Tensors in a
  reproducible order, optionally prefetched in a background thread
* built-in real data, no download (the ``data`` extra): ``MNISTSample``,
  ``Digits``, ``sample_images()``
* standard files: ``MNIST``, ``FashionMNIST``, ``CIFAR10`` (binary version),
  ``ImageFolder``; ``download=True`` fetches and verifies the official files
* ``transforms``: augmentation on NumPy images, ``transforms.batch`` on whole batches

Importing this package imports no optional package: mlxtend, scikit-learn and
Pillow are imported by the functions that need them, and a missing one is
reported with ``pip install "minicnn[data]"``.  See docs/data.md.
"""
from . import transforms
from .builtin import SPLIT_SEED, Digits, MNISTSample, sample_images
from .dataset import ConcatDataset, Dataset, StackedBatch, Subset, TensorDataset, random_split
from .datasets import (
    CIFAR10,
    MNIST,
    RESOURCES,
    DatasetFileError,
    FashionMNIST,
    ImageArrayDataset,
    ImageFolder,
    read_cifar_binary,
    read_idx,
)
from .download import ChecksumError, download_file
from .loader import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    collate_arrays,
    default_collate,
)
from ._common import cache_dir

__all__ = [
    "BatchSampler", "CIFAR10", "ChecksumError", "ConcatDataset", "DataLoader", "Dataset", "DatasetFileError",
    "Digits", "FashionMNIST", "ImageArrayDataset", "ImageFolder", "MNIST", "MNISTSample", "RESOURCES",
    "RandomSampler", "SPLIT_SEED", "Sampler", "SequentialSampler", "StackedBatch", "Subset", "TensorDataset",
    "cache_dir", "collate_arrays", "default_collate", "download_file", "random_split", "read_cifar_binary",
    "read_idx", "sample_images", "transforms",
]
