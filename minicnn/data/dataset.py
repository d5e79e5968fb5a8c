"""Datasets: indexable collections of samples.

A ``Dataset`` is anything with ``__len__`` and ``__getitem__(i)`` returning one
sample, usually ``(image, label)``.  Datasets held in arrays can also answer
``__getitems__(indices)`` with the whole batch at once: one fancy-indexing
operation instead of a Python loop over samples.  minicnn's array datasets
return the batch already stacked, as a ``StackedBatch`` (a tuple of arrays
whose first axis is the batch); a ``__getitems__`` that returns a plain list of
samples (PyTorch's contract) is accepted too and collated sample by sample.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ._common import as_generator


class StackedBatch(tuple):
    """The fields of a batch, each stacked along a new first axis.

    ``StackedBatch((images, labels))`` with ``images: (N, ...)`` and
    ``labels: (N,)``: what ``__getitems__`` of an array dataset returns.  The
    loader turns each field into a tensor without looping over samples.
    """

    __slots__ = ()

    def samples(self):
        """The same batch as a list of per-sample tuples (for custom collate functions)."""
        return list(zip(*self))


class Dataset:
    """Base class: subclasses implement ``__len__`` and ``__getitem__``.

    ``dataset_a + dataset_b`` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(index, length, name):
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{name} index must be an integer, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{name} index {index} is out of range for a dataset of {length} samples")
    return int(index) % length if length else int(index)


def _as_index_array(indices):
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        if indices.size == 0:
            return indices.astype(np.int64)
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    return indices


class TensorDataset(Dataset):
    """Samples are the rows of equally long tensors or arrays.

    ``TensorDataset(images, labels)``: sample ``i`` is ``(images[i], labels[i])``.
    minicnn Tensors give Tensors back, NumPy arrays give arrays (and their
    rows are batched by the loader's dtype rules: float -> float32, ...).

    Shapes: every input ``(N, ...)`` with the same N.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        arrays = []
        for t in tensors:
            if isinstance(t, Tensor):
                arrays.append(t.data)
            elif hasattr(t, "shape") and hasattr(t, "dtype"):
                arrays.append(t)
            else:
                arrays.append(np.asarray(t))
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"TensorDataset: all inputs need the same first dimension, got shapes {shapes}")
        self.tensors = tuple(tensors)
        self._arrays = arrays
        self._is_tensor = [isinstance(t, Tensor) for t in tensors]

    def __len__(self):
        return self._arrays[0].shape[0]

    def _field(self, k, value):
        return Tensor._wrap(value, None, 0) if self._is_tensor[k] else value

    def __getitem__(self, index):
        index = _check_index(index, len(self), "TensorDataset")
        return tuple(self._field(k, a[index]) for k, a in enumerate(self._arrays))

    def __getitems__(self, indices):
        """The rows ``indices`` of every input, stacked: one fancy index per input."""
        indices = _as_index_array(indices)
        fields = []
        for k, a in enumerate(self._arrays):
            idx = indices if not backend.is_gpu_array(a) else backend.get_array_module(a).asarray(indices)
            fields.append(self._field(k, a[idx]))
        return StackedBatch(fields)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} samples")

    def __len__(self):
        return int(self.indices.size)

    def __getitem__(self, index):
        index = _check_index(index, len(self), "Subset")
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        mapped = self.indices[_as_index_array(indices)]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(mapped)
        return [self.dataset[int(i)] for i in mapped]


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = _check_index(index, len(self), "ConcatDataset")
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][index - start]


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions
    summing to 1: each gets ``floor(fraction * n)`` samples and the remainder
    is dealt one by one to the subsets in order (as PyTorch does).  The
    permutation comes from ``generator`` (a NumPy Generator), else ``seed``,
    else minicnn's CPU generator (``minicnn.manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1 and not all(
        isinstance(x, (int, np.integer)) for x in lengths
    ):
        if any(x < 0 or x > 1 for x in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset has {n} samples")
    rng = as_generator(generator) or as_generator(seed) or backend.generator(backend.CPU)
    order = rng.permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
