"""A memory budget for im2col's column matrix, and the batch chunks that keep to it.

The column matrix of a convolution is ``prod(kernel)`` times larger than its
input: a 3x3 convolution over a (128, 64, 32, 32) float32 batch (32 MiB) needs
288 MiB of columns.  When one batch's columns would exceed the budget, the
convolution processes the batch in chunks of samples, each chunk's columns
within the budget, and recomputes the columns in the backward pass instead of
keeping them (``minicnn/ops/conv.py``).  The result is the same; memory stays
bounded.

The budget defaults to 512 MiB; set it with ``set_workspace_limit(bytes)``
(``None`` for no limit) or the environment variable ``MINICNN_WORKSPACE_BYTES``.
"""
from __future__ import annotations

import os

DEFAULT_LIMIT = 512 << 20

_limit = DEFAULT_LIMIT


def set_workspace_limit(nbytes):
    """Cap the bytes of one im2col column matrix (``None``: no cap).  Returns the previous cap."""
    global _limit
    if nbytes is not None and (not isinstance(nbytes, int) or nbytes < 1):
        raise ValueError(f"set_workspace_limit: expected a positive number of bytes or None, got {nbytes!r}")
    previous, _limit = _limit, nbytes
    return previous


def workspace_limit():
    """The current cap in bytes (``None``: no cap)."""
    return _limit


def batch_chunks(batch, bytes_per_sample):
    """Slices of ``range(batch)`` whose columns fit the budget (at least one sample each).

    One slice, the whole batch, when everything fits or there is no cap.
    """
    if _limit is None or batch * bytes_per_sample <= _limit:
        return [slice(0, batch)]
    step = max(1, _limit // bytes_per_sample)
    return [slice(start, min(start + step, batch)) for start in range(0, batch, step)]


_env = os.environ.get("MINICNN_WORKSPACE_BYTES")
if _env:
    set_workspace_limit(None if _env.strip().lower() == "none" else int(_env))
