"""How a convolution walks its batch on the CPU: cache-sized chunks, reused buffers, both cores.

The column matrix of a convolution is ``prod(kernel)`` times larger than its
input: a 3x3 convolution over a (128, 16, 32, 32) float32 batch (ResNet-20's
first stage, 8 MiB) needs 72 MiB of columns, which would go out to memory
and come back for the product.  ``minicnn/ops/conv.py`` never builds it for
the whole batch; it walks the batch in chunks of a few samples::

    for each chunk b of samples (in parallel):     cols_b: (n, C*K, L), a few MiB
        cols_b = im2col(x[b]);  y[b] = W @ cols_b  cols_b is still in the cache

and the backward pass the same way (``dx[b] = col2im(W^T @ dy[b])``; ``dW``
summed over the chunks, whose columns are computed again).  Three parts:

* **how many samples per chunk** (``batch_chunks``): as many as fit the
  *block* (CPU arrays only, 4 MiB by default) and the *workspace limit* (a
  cap on any column matrix, on every device, 512 MiB by default); at least
  one.  The GPU wants few large kernels, so GPU arrays are only capped;
* **where the columns go** (``scratch``): into a buffer kept from call to
  call.  A fresh array of a few MiB is a fresh ``mmap`` whose pages fault in
  one by one on first write, which costs more than the im2col copy itself
  (ResNet-20 stage 1, 4 samples per chunk: 39 ms per batch with a new array
  per chunk, 2.9 ms writing into a reused one);
* **who runs the chunks** (``map_chunks``): one worker thread per BLAS thread,
  each running whole chunks with a single-threaded BLAS (see ``_Cores``);
* **how a chunk's products go to BLAS** (``matmul_in_pieces``): cut along
  their columns into pieces that OpenBLAS's unpacked small-matrix kernels
  take, where that pays (``column_pieces``).

Measured on a 2-core machine (docs/kernels.md): a ResNet-20 training step at
batch 128 takes 0.31x the time of the whole-batch version, a VGG-style one 0.35x.

Settings: ``set_block_size(bytes)``, ``set_workspace_limit(bytes)`` (``None``:
no blocking / no cap), ``set_chunk_threads(n)`` (1: serial), or the
environment variables ``MINICNN_BLOCK_BYTES``, ``MINICNN_WORKSPACE_BYTES``,
``MINICNN_CHUNK_THREADS``.
"""
from __future__ import annotations

import math
import os
import threading

import numpy as np

from ..backend import get_array_module, is_gpu_array

DEFAULT_LIMIT = 512 << 20
DEFAULT_BLOCK = 4 << 20

_limit = DEFAULT_LIMIT
_block = DEFAULT_BLOCK


def _checked(nbytes, name):
    if nbytes is not None and (not isinstance(nbytes, int) or nbytes < 1):
        raise ValueError(f"{name}: expected a positive number of bytes or None, got {nbytes!r}")
    return nbytes


def set_workspace_limit(nbytes):
    """Cap the bytes of one im2col column matrix (``None``: no cap).  Returns the previous cap."""
    global _limit
    previous, _limit = _limit, _checked(nbytes, "set_workspace_limit")
    return previous


def workspace_limit():
    """The current cap in bytes (``None``: no cap)."""
    return _limit


def set_block_size(nbytes):
    """Target bytes of one chunk's columns on the CPU (``None``: no blocking, only the cap).
    Returns the previous value."""
    global _block
    previous, _block = _block, _checked(nbytes, "set_block_size")
    return previous


def block_size():
    """The current CPU block in bytes (``None``: no blocking)."""
    return _block


def batch_chunks(batch, bytes_per_sample, array=None):
    """Slices of ``range(batch)`` whose columns (``bytes_per_sample`` each) fit one chunk.

    The chunk is the workspace limit, and also the block when ``array`` (the
    convolution's input) is a CPU array.  One slice, the whole batch, when
    everything fits; at least one sample per slice.  The slices are of equal
    length (within one), and on the CPU as many as a multiple of the worker
    threads, so that no core waits for the other at the end: 128 samples, 28
    per block and 2 workers make 6 chunks of 21-22, not 4 of 28 and one of 16.
    """
    on_cpu = array is not None and not is_gpu_array(array)
    sizes = [_limit] + ([_block] if on_cpu else [])
    budget = min((size for size in sizes if size is not None), default=None)
    if budget is None or batch * bytes_per_sample <= budget:
        return [slice(0, batch)]
    count = -(-batch // max(1, budget // max(bytes_per_sample, 1)))  # ceil(batch / samples per chunk)
    if on_cpu:
        workers = _cores.workers()
        count = min(batch, -(-count // workers) * workers)
    bounds = [batch * i // count for i in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


_scratch = threading.local()  # per thread: {slot: 1-d uint8 array}; conv calls never nest


def scratch(shape, like, slot=0):
    """An array of ``shape`` and ``like``'s dtype over a CPU buffer reused from call to call,
    or ``None`` when ``like`` is a GPU array (CuPy's memory pool already reuses its blocks).

    Its contents are garbage, and it is overwritten by the next request for
    the same ``slot`` (in the same thread): use it for temporaries that die
    within one operation (one chunk's columns), never for a result.  Buffers
    larger than ``4 * block`` are not kept (a fresh array each time).
    """
    if is_gpu_array(like):
        return None
    nbytes = math.prod(shape) * like.itemsize
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(nbytes, dtype=np.uint8)
        if nbytes <= 4 * (_block or 0):
            buffers[slot] = buffer
    return buffer[:nbytes].view(like.dtype).reshape(shape)


# ------------------------------------------------------------ chunks on the cores
_WORKER = "minicnn-chunks"  # the worker threads' name prefix
_threads = None  # worker threads per convolution; None: as many as BLAS threads


def set_chunk_threads(n):
    """Worker threads that share the chunks of one convolution (``None``, the default:
    as many as BLAS has threads; 1: serial, BLAS's threads inside each product).
    Returns the previous value."""
    global _threads
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ValueError(f"set_chunk_threads: expected a positive int or None, got {n!r}")
    previous, _threads = _threads, n
    return previous


def chunk_threads():
    """The current setting of ``set_chunk_threads`` (``None``: as many as BLAS threads)."""
    return _threads


class _Cores:
    """Runs the chunks of one convolution on the CPU's cores.

    A chunk is im2col + matrix product (+ col2im), all in one core's cache, so
    the parallelism is *over chunks*: each worker thread takes the next chunk
    and runs its product with a single-threaded BLAS.  BLAS's own threads
    would instead split every product in two; with one small product per
    sample (16 x 144 x 1024 in ResNet-20's first stage) their hand-overs cost
    more than they save, and each product waits for the slower half whenever
    another process holds a core.  The Numba kernels release the GIL, and so
    do NumPy's products, so the workers run in parallel.
    """

    def __init__(self):
        self.blas = None  # threadpoolctl's controllers of the loaded BLAS libraries, found on first use
        self.pool, self.size, self.pid = None, 0, None

    def _blas(self):
        if self.blas is None:
            try:
                from threadpoolctl import ThreadpoolController

                self.blas = ThreadpoolController().select(user_api="blas").lib_controllers
            except Exception:  # no threadpoolctl, or a BLAS it cannot see: no threads of ours either
                self.blas = []
        return self.blas

    def _pool(self, size):
        """The worker threads; made again when the size changes or after a fork (a child has no threads)."""
        if self.pool is None or self.size != size or self.pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            if self.pool is not None and self.pid == os.getpid():
                self.pool.shutdown(wait=False)
            self.pool, self.size, self.pid = ThreadPoolExecutor(size, _WORKER), size, os.getpid()
        return self.pool

    def workers(self):
        """How many threads ``map`` runs the chunks on: ``set_chunk_threads``, or BLAS's thread count;
        1 inside a worker (a worker never waits on the pool)."""
        if threading.current_thread().name.startswith(_WORKER):
            return 1
        return _threads or min((lib.get_num_threads() for lib in self._blas()), default=1)

    def map(self, fn, chunks):
        size = self.workers()
        if size < 2:
            return [fn(chunk) for chunk in chunks]
        blas = self._blas()
        before = [lib.get_num_threads() for lib in blas]
        pool = self._pool(size)
        for lib in blas:
            lib.set_num_threads(1)
        try:
            return list(pool.map(fn, chunks))
        finally:
            for lib, n in zip(blas, before):
                lib.set_num_threads(n)


_cores = _Cores()


def map_chunks(fn, chunks, like):
    """``[fn(chunk) for chunk in chunks]``, the chunks shared among the CPU's cores
    (``_Cores``) when ``like`` is a CPU array and there are several; in order, one
    after the other, on the GPU.  ``fn`` must only write its own chunk's part of any
    shared result (the convolution's chunks write disjoint slices)."""
    if len(chunks) < 2 or is_gpu_array(like):
        return [fn(chunk) for chunk in chunks]
    return _cores.map(fn, chunks)


# ------------------------------------------------------ products in small pieces
# OpenBLAS's AVX-512 kernel sets (SkylakeX and the two that build on it) multiply
# small matrices without packing them first, when M*N*K <= 100^3
# (kernel/x86_64/sgemm_small_kernel_permit_skylakex.c; float64 products gain the
# same way here, measured: docs/kernels.md).
SMALL_PRODUCT = 100 ** 3
SMALL_KERNEL_ARCHITECTURES = ("skylakex", "cooperlake", "sapphirerapids")
# ... and pieces of it win over the packed product for at most this many pieces, or
# for any number when the product's short side (rows or inner size) is this small
MAX_PIECES = 4
SHORT_SIDE = 32

_small_product = "unknown"  # SMALL_PRODUCT when BLAS has those kernels, else None (found on first use)


def small_product_limit():
    """The size (multiply-adds) under which BLAS multiplies without packing, or ``None``
    when the loaded BLAS has no such path (found once, through threadpoolctl)."""
    global _small_product
    if _small_product == "unknown":
        libraries = _cores._blas()
        _small_product = SMALL_PRODUCT if any(
            lib.internal_api == "openblas" and str(lib.architecture).lower() in SMALL_KERNEL_ARCHITECTURES
            for lib in libraries
        ) else None
    return _small_product


def column_pieces(rows, inner, columns, like):
    """Slices of the columns of a product ``(rows, inner) @ (inner, columns)`` so that each
    piece is small enough for BLAS's unpacked small-matrix kernels.

    A convolution's products are ``W @ cols`` (F, C*k*k) @ (C*k*k, L): with 16
    filters OpenBLAS's packed path runs ResNet-20's first stage at 44 GFLOP/s per
    core, and the same product cut into three pieces of 342 columns (each under
    ``SMALL_PRODUCT``) at 94 (docs/kernels.md, "Products in small pieces").  Large
    products keep the packed path, which wins there: no cut when more than
    ``MAX_PIECES`` pieces would be needed, unless the product's short side
    (``min(rows, inner)``) is at most ``SHORT_SIDE``.  One slice, everything, on
    the GPU or with a BLAS without that path.
    """
    limit = None if is_gpu_array(like) else small_product_limit()
    count = 1 if limit is None else -(-rows * inner * columns // limit)
    if count < 2 or (count > MAX_PIECES and min(rows, inner) > SHORT_SIDE):
        return [slice(None)]
    width = -(-columns // count)
    return [slice(start, start + width) for start in range(0, columns, width)]


def matmul_in_pieces(a, b, out):
    """``out[...] = a @ b`` (a batched ``matmul``), the columns of ``b`` and ``out`` in the
    pieces of ``column_pieces``; returns ``out``."""
    xp = get_array_module(b)
    for piece in column_pieces(a.shape[-2], a.shape[-1], b.shape[-1], b):
        xp.matmul(a, b[..., piece], out=out[..., piece])
    return out


def _from_env(name, setter):
    value = os.environ.get(name)
    if value:
        setter(None if value.strip().lower() == "none" else int(value))


_from_env("MINICNN_WORKSPACE_BYTES", set_workspace_limit)
_from_env("MINICNN_BLOCK_BYTES", set_block_size)
_from_env("MINICNN_CHUNK_THREADS", set_chunk_threads)
