"""``DataLoader``: batches of a dataset as minicnn Tensors, in a reproducible order.

One epoch, step by step::

    order   = permutation of 0..n-1 (shuffle) or 0..n-1    seed, epoch -> order
    batches = order[0:B], order[B:2B], ...                  (last one dropped with drop_last)
    for each batch:  samples = dataset.__getitems__(idx)    one fancy index for array datasets
                     arrays  = collate(samples)             (N, ...) float32 / int64 arrays
                     arrays[0] = batch_transform(arrays[0]) vectorised augmentation
                     yield Tensors (on ``device``)

Every index appears exactly once per epoch (``sampler`` and ``batch_sampler``
can change that, as in PyTorch).

Order and seeds.  With ``seed=s`` the order of epoch ``e`` is the permutation
drawn by ``numpy.random.default_rng(SeedSequence([s, e]))``: the same seed gives
the same order, each epoch a different one, and ``loader.set_epoch(e)`` jumps
to epoch ``e`` (for a resumed run; the epoch counter otherwise advances by one
at each ``iter(loader)``).  Random transforms that run while batch ``b`` of
epoch ``e`` is built draw from ``SeedSequence([s, e, b, 1])``, so augmentation
is reproducible too, with or without prefetch threads.  Without ``seed`` the
base seed is drawn at each epoch from ``generator`` (a NumPy Generator or an
int) or else from minicnn's CPU generator, so ``minicnn.manual_seed`` makes the
run reproducible.

Prefetch.  ``prefetch=k`` (``True`` means 2) builds up to ``k`` batches ahead
in a background thread while the consumer computes; ``num_workers=w`` uses a
pool of ``w`` threads instead of processes (NumPy releases the GIL in its
array loops).  Batches always come out in order, an exception raised while a
batch was built is re-raised in the consumer, and leaving the loop early (or
an error) cancels the batches not yet started and joins the threads.
``pin_memory``, ``persistent_workers``, ``multiprocessing_context`` and
``pin_memory_device`` are accepted for PyTorch compatibility and have no
effect (threads share memory, and CuPy copies from any host buffer).
"""
from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ._common import as_generator, use_rng
from .dataset import StackedBatch


# --------------------------------------------------------------------- collate
def _float_rule(array):
    """Floating arrays become the default float dtype (float32); others keep theirs."""
    if array.dtype.kind == "f" and array.dtype != backend.get_default_dtype():
        return array.astype(backend.get_default_dtype())
    return array


def _stack(arrays, where):
    first = arrays[0]
    xp = backend.get_array_module(first)
    try:
        return xp.stack(arrays)
    except ValueError:
        shapes = sorted({tuple(a.shape) for a in arrays})
        raise ValueError(
            f"collate: cannot stack samples of different shapes {shapes[:4]} in {where}; "
            "resize them to one size (transforms.Resize / CenterCrop) or pass a collate_fn"
        ) from None


def collate_arrays(batch, where="the batch"):
    """Stack a list of samples into arrays (the first half of ``default_collate``).

    Rules: NumPy arrays are stacked along a new first axis, floating ones as
    float32 (the default dtype), integer and bool ones keeping their dtype;
    Python ints -> int64, floats -> float32, bools -> bool; minicnn Tensors are
    stacked keeping their dtype; tuples, lists and dicts are collated field by
    field (a tuple gives a list, as in PyTorch); strings stay a list.
    """
    if not batch:
        raise ValueError("collate: empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(_stack([t.data for t in batch], where), None, 0)
    if isinstance(elem, np.ndarray) or backend.is_gpu_array(elem):
        return _float_rule(_stack(batch, where))
    if isinstance(elem, (bool, np.bool_)):
        return np.asarray(batch, dtype=np.bool_)
    if isinstance(elem, (int, np.integer)):
        return np.asarray(batch, dtype=np.int64)
    if isinstance(elem, (float, np.floating)):
        return np.asarray(batch, dtype=backend.get_default_dtype())
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: collate_arrays([d[key] for d in batch], f"field {key!r}") for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(collate_arrays(list(s), f"field {f!r}") for f, s in zip(elem._fields, zip(*batch))))
    if isinstance(elem, Sequence):
        if any(len(s) != len(elem) for s in batch):
            raise ValueError(f"collate: samples in {where} have different numbers of fields")
        return [collate_arrays(list(s), f"field {k}") for k, s in enumerate(zip(*batch))]
    raise TypeError(
        f"collate: cannot batch samples of type {type(elem).__name__} in {where}; samples must be "
        "arrays, Tensors, numbers, strings, or tuples/lists/dicts of these (or pass a collate_fn)"
    )


def _stacked_arrays(batch):
    """A ``StackedBatch`` from ``__getitems__`` as collated arrays (dtype rules, no stacking)."""
    out = []
    for field in batch:
        if isinstance(field, Tensor):
            out.append(field)
        else:
            if not hasattr(field, "dtype"):
                field = np.asarray(field)
            if field.dtype.kind in "iu" and field.ndim == 1:
                field = field.astype(np.int64, copy=False)
            out.append(_float_rule(field))
    return out


def to_tensors(obj, device=None):
    """Turn every array in a collated structure into a Tensor (on ``device``)."""
    if isinstance(obj, Tensor):
        if device is not None and obj.device != device:
            return Tensor._wrap(backend.to_device(obj.data, device), None, 0)
        return obj
    if isinstance(obj, np.ndarray) or backend.is_gpu_array(obj):
        if device is not None:
            with backend.gpu_context(device):
                obj = backend.to_device(obj, device)
        return Tensor._wrap(obj, None, 0)
    if isinstance(obj, dict):
        return {k: to_tensors(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_tensors(v, device) for v in obj))
    if isinstance(obj, (list, tuple)) and not (obj and isinstance(obj[0], (str, bytes))):
        return type(obj)(to_tensors(v, device) for v in obj)
    return obj


def default_collate(batch):
    """Samples -> a batch of Tensors: ``[(x, 3), (x, 7)] -> [Tensor (2, ...) float32, Tensor (2,) int64]``."""
    return to_tensors(collate_arrays(batch))


def _move(obj, device):
    """Move the Tensors of a custom collate function's output to ``device``
    (through dicts, lists, tuples and namedtuples; other values are left alone)."""
    if isinstance(obj, Tensor):
        return to_tensors(obj, device)
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_move(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move(v, device) for v in obj)
    return obj


def _apply_to_inputs(batch, transform):
    """Apply ``transform`` to the inputs of a batch: its first field, or the batch itself."""
    if isinstance(batch, list) and batch:
        return [transform(batch[0])] + batch[1:]
    if isinstance(batch, tuple) and batch and not hasattr(batch, "_fields"):
        return (transform(batch[0]),) + tuple(batch[1:])
    return transform(batch)


# -------------------------------------------------------------------- samplers
class Sampler:
    """Yields dataset indices; subclasses implement ``__iter__`` and ``__len__``."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., n-1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices (with ``replacement``: ``num_samples`` draws).

    Seeded like the loader: ``seed`` and the epoch (``set_epoch``), else
    ``generator``, else minicnn's CPU generator.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, seed=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = as_generator(generator)
        self.seed = seed
        self.epoch = 0
        if num_samples is not None and not replacement and num_samples > len(data_source):
            raise ValueError(
                f"RandomSampler: num_samples={num_samples} > {len(data_source)} samples needs replacement=True"
            )

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        if self.seed is not None:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch]))
        else:
            rng = self.generator or backend.generator(backend.CPU)
        self.epoch += 1
        n = len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        return iter(rng.permutation(n)[: self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size, drop_last=False):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ------------------------------------------------------------------ DataLoader
class DataLoader:
    """Iterate over ``dataset`` in batches of minicnn Tensors.

    Arguments (PyTorch's, plus a few):
        batch_size: samples per batch (default 1).
        shuffle: a new random order each epoch (see the module docstring for seeds).
        sampler / batch_sampler: custom index order / custom batches (exclusive with shuffle).
        drop_last: drop the last, incomplete batch.
        collate_fn: samples -> batch (default: ``default_collate``).
        seed: base seed of the order and of the augmentation; with ``set_epoch``
            a resumed run continues with exactly the batches it would have had.
        generator: a NumPy Generator (or int) drawing a base seed per epoch when ``seed`` is None.
        device: put the tensors straight onto this device ("cpu", "cuda:0").
        batch_transform: applied after collation, before the device transfer, to
            the inputs of each batch (the first field, a NumPy (N, C, H, W) array
            with the default collate): the vectorised ``transforms.batch`` ones.
        prefetch: batches built ahead in a background thread (``True`` = 2).
        num_workers: threads building batches (0: in the main thread or the
            prefetch thread); prefetch_factor batches ahead per worker.
        worker_init_fn: called with the worker id in each thread as it starts.
        timeout: seconds to wait for a batch from a worker (0: no limit).
        pin_memory, persistent_workers, multiprocessing_context, pin_memory_device,
        in_order: accepted and ignored (see the module docstring).

    ``len(loader)`` is the number of batches per epoch; ``loader.dataset`` the dataset.
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=False,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
        seed=None,
        device=None,
        prefetch=0,
        batch_transform=None,
    ):
        if batch_size is None:
            raise ValueError("DataLoader: batch_size=None (no automatic batching) is not supported; use batch_size=1")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is exclusive with batch_size, shuffle, sampler and drop_last")
        elif not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is exclusive with shuffle=True (shuffle inside the sampler)")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if prefetch is True:
            prefetch = 2
        if prefetch is False or prefetch is None:
            prefetch = 0
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be a non-negative integer or True, got {prefetch!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed!r}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.prefetch = prefetch
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self.worker_init_fn = worker_init_fn
        self.timeout = timeout
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.seed = None if seed is None else int(seed)
        self.generator = as_generator(generator)
        self.device = None if device is None else backend.as_device(device)
        self.batch_transform = batch_transform
        self._epoch = 0

    # ---------------------------------------------------------------- epochs
    @property
    def epoch(self):
        """The epoch the next ``iter(loader)`` will produce."""
        return self._epoch

    def set_epoch(self, epoch):
        """Make the next ``iter(loader)`` produce epoch ``epoch`` (order and augmentation).

        A run resumed at epoch ``e`` calls ``loader.set_epoch(e)`` and gets the
        batches the uninterrupted run would have had (same ``seed``).
        """
        if not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self._epoch = int(epoch)

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _index_batches(self, epoch, base_seed):
        """The index arrays of the batches of one epoch."""
        for s in (self.sampler, self.batch_sampler, getattr(self.batch_sampler, "sampler", None)):
            if s is not None and hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        if self.batch_sampler is not None:
            return [np.asarray(b, dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = np.random.default_rng(np.random.SeedSequence([base_seed, epoch])).permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return [order[i : i + self.batch_size] for i in range(0, stop, self.batch_size)]

    # ---------------------------------------------------------------- batches
    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            samples = getitems(indices)
        else:
            samples = [self.dataset[int(i)] for i in indices]
        if self.collate_fn is None:
            if isinstance(samples, StackedBatch):
                batch = _stacked_arrays(samples)
            else:
                batch = collate_arrays(list(samples))
            if self.batch_transform is not None:
                batch = _apply_to_inputs(batch, self.batch_transform)
            return to_tensors(batch, self.device)
        if isinstance(samples, StackedBatch):
            samples = samples.samples()
        batch = self.collate_fn(list(samples))
        if self.batch_transform is not None:
            batch = _apply_to_inputs(batch, self.batch_transform)
        return batch if self.device is None else _move(batch, self.device)

    def _load(self, base_seed, epoch, number, indices):
        rng = np.random.default_rng(np.random.SeedSequence([base_seed, epoch, number, 1]))
        with use_rng(rng):
            return self._fetch(indices)

    def __iter__(self):
        epoch = self._epoch
        self._epoch += 1
        if self.seed is not None:
            base_seed = self.seed
        else:
            rng = self.generator or backend.generator(backend.CPU)
            base_seed = int(rng.integers(0, 2**63 - 1))
        batches = self._index_batches(epoch, base_seed)
        tasks = ((base_seed, epoch, k, idx) for k, idx in enumerate(batches))
        threads = self.num_workers or (1 if self.prefetch else 0)
        if threads == 0:
            return (self._load(*task) for task in tasks)
        ahead = max(self.prefetch, self.num_workers * self.prefetch_factor)
        return self._threaded(tasks, threads, ahead)

    def _threaded(self, tasks, threads, ahead):
        """Build batches in ``threads`` threads, ``ahead`` of the consumer, yielding in order."""
        counter = itertools.count()
        lock = threading.Lock()

        def init():
            if self.worker_init_fn is not None:
                with lock:
                    worker_id = next(counter)
                self.worker_init_fn(worker_id)

        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="minicnn-loader", initializer=init)
        pending = collections.deque()
        timeout = self.timeout if self.timeout and self.timeout > 0 else None
        try:
            for task in tasks:
                pending.append(executor.submit(self._load, *task))
                if len(pending) > ahead:
                    yield self._result(pending.popleft(), timeout)
            while pending:
                yield self._result(pending.popleft(), timeout)
        finally:
            for future in pending:
                future.cancel()
            executor.shutdown(wait=True)

    @staticmethod
    def _result(future, timeout):
        try:
            return future.result(timeout)
        except _FutureTimeout:
            raise RuntimeError(f"DataLoader timed out after {timeout} s waiting for a batch") from None

    def __repr__(self):
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, prefetch={self.prefetch}, "
            f"num_workers={self.num_workers})"
        )
