"""``im2col`` / ``col2im`` in Numba: the same layout and signatures as ``im2col.py``.

The reference copies one strided slice of the whole batch per kernel offset:
NumPy walks the batch ``prod(kernel)`` times and pads the input first.  The
compiled version walks every (sample, channel) plane once, writes each row of
the column matrix in order and handles the padding with index arithmetic
instead of a padded copy::

    for every plane q = (n, c):                # x and cols seen as flat planes
        for every kernel offset (a, b, e):     # row = (c, a, b, e)
            for every output row (i, j), every output k of it:
                cols[q, row, (i, j, k)] = x[q, i*s + a*d - pad, j*s + b*d - pad, k*s + e*d - pad]
                                          (0 where that lies in the padding)

``col2im`` runs the same loops with ``+=`` in the other direction.

What makes the loops fast (each measured; docs/kernels.md has the figures):

* the innermost loop runs over one row of outputs, contiguous in ``cols``;
  the outputs ``[lo, hi)`` of that row whose tap is inside the input are
  computed once per call (``column_taps``), so it does no division and no
  bounds test;
* it is called with a constant stride (1, or 2 in pooling) where it can be,
  so that LLVM vectorises it, and with indices it can see are never negative
  (Numba otherwise adds a wraparound test to every access);
* the arrays are flat planes indexed by offsets: no view is built per row
  (at 8-wide rows that bookkeeping cost more than the copy);
* for "same" convolutions (stride 1 along the rows, as many output columns as
  input columns: every ResNet and LeNet-5 layer) a block of rows is one
  contiguous run on both sides and is copied by one loop, then the columns
  that fall in the padding are zeroed.

2-d convolutions with stride 1 (all of LeNet-5's and ResNet's but the
downsampling ones) have their own pair of kernels (``_im2col_2d_stride1``):
per plane, one *strip* per tap column e, the plane as that column of taps
sees it (input row y shifted by e*d - p, ``ow`` wide, zeros in the padding,
with the padding rows above and below), so that the row of taps (b, e) is
one contiguous run of strip e from its row b*d::

    strip[e, ph + y, k] = x[y, k + e*d - p]              (0 outside the input)
    cols[(b, e), (i, k)] = strip[e, i + b*d, k]          a run of oh*ow elements

kw*H short rows per plane instead of kh*kw*oh, each cut into padding and
data (at "same" widths, ``ow == W``, the strip is itself one shifted run with
a few columns zeroed).  ``col2im`` adds the kh runs of each column of taps
into its strip, then sums the kw strips into the plane, writing every pixel
once (no zeroing pass over the result).  Other geometries use the 3-d loops.

Serial on purpose: ``parallel=True`` (``prange`` over the planes, OpenMP
threading layer) halves the kernel on its own, but inside a training step its
threads fight OpenBLAS's for the 2 cores: ResNet-20's step went from 1069 ms
(serial) to 1224 ms, LeNet-5's from 10.6 to 16.2 ms (docs/kernels.md).  The
convolution gets both cores another way: it hands whole chunks of the batch
(im2col, product, col2im) to two threads (``workspace.map_chunks``), so the
kernels release the GIL (``nogil=True``) and write into the caller's buffer
(``out=``, a scratch buffer reused chunk after chunk).

1-d arrays, and 2-d ones with a stride other than 1, run the 3-d loops with
leading axes of length 1 (kernel 1, stride 1, no padding), so one compiled
loop nest serves every other dimension.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .shapes import output_shape


def as_3d(spatial, *per_axis):
    """Prepend unit axes so that 1-d and 2-d geometry reads as 3-d.

    ``spatial`` gets leading 1s; each tuple in ``per_axis`` is (kernel, stride,
    padding, dilation)-like and gets its neutral value (1, 1, 0, 1)."""
    lead = 3 - len(spatial)
    neutral = (1, 1, 0, 1)
    return ((1,) * lead + tuple(spatial),) + tuple(
        (neutral[i],) * lead + tuple(values) for i, values in enumerate(per_axis)
    )


@njit(cache=True, inline="always")
def valid_range(n_out, size, offset, stride):
    """Outputs ``o`` in ``[0, n_out)`` whose tap ``o * stride + offset`` lies in ``[0, size)``."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if size - 1 - offset < 0 else min(n_out, (size - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


@njit(cache=True)
def column_taps(n_out, size, kernel, stride, padding, dilation):
    """For every tap e of the last axis, a row ``(w, lo, hi)`` of a (kernel, 3)
    array: the outputs ``[lo, hi)`` are those whose tap ``k*stride + e*d - p``
    lies inside ``[0, size)``, and ``w`` is the input column that output ``lo``
    reads.  Computed once per call, so that the inner loops do no division and
    no bounds test."""
    columns = np.zeros((kernel, 3), dtype=np.int64)
    for e in range(kernel):
        start = e * dilation - padding
        lo, hi = valid_range(n_out, size, start, stride)
        if lo < hi:
            columns[e, 0], columns[e, 1], columns[e, 2] = lo * stride + start, lo, hi
    return columns


@njit(cache=True, boundscheck=False, inline="always")
def _copy_row(target, t, source, w, lo, hi, n, stride):
    """``target[t + k] = source[w + (k - lo)*stride]`` for k in [lo, hi), 0 for the
    rest of [0, n).  Flat 1-d arrays and offsets: no view is made per row."""
    t, w, lo = max(t, 0), max(w, 0), max(lo, 0)  # never negative; saying so drops Numba's wraparound test
    for k in range(lo):
        target[t + k] = 0
    for k in range(hi - lo):
        target[t + lo + k] = source[w + k * stride]
    for k in range(hi, n):
        target[t + k] = 0


@njit(cache=True, boundscheck=False, inline="always")
def _zero(target, t, n):
    """``target[t : t + n] = 0``."""
    t = max(t, 0)
    for k in range(n):
        target[t + k] = 0


@njit(cache=True, boundscheck=False, inline="always")
def _add_row(target, w, source, t, lo, hi, stride):
    """``target[w + (k - lo)*stride] += source[t + k]`` for k in [lo, hi): the adjoint of ``_copy_row``."""
    t, w, lo = max(t, 0), max(w, 0), max(lo, 0)
    for k in range(hi - lo):
        target[w + k * stride] += source[t + lo + k]


@njit(cache=True, boundscheck=False, inline="always")
def _copy_run(target, t, source, w, n):
    """``target[t : t + n] = source[w : w + n]``."""
    t, w = max(t, 0), max(w, 0)
    for k in range(n):
        target[t + k] = source[w + k]


@njit(cache=True, boundscheck=False, inline="always")
def _add_run(target, t, source, w, n):
    """``target[t : t + n] += source[w : w + n]``."""
    t, w = max(t, 0), max(w, 0)
    for k in range(n):
        target[t + k] += source[w + k]


@njit(cache=True, boundscheck=False, inline="always")
def _zero_columns(target, t, width, rows, lo, hi):
    """Zero the columns outside ``[lo, hi)`` of ``rows`` rows of ``width`` starting at ``target[t]``."""
    t, lo, hi = max(t, 0), max(lo, 0), max(hi, 0)
    for c in range(lo):
        for r in range(rows):
            target[t + r * width + c] = 0
    for c in range(hi, width):
        for r in range(rows):
            target[t + r * width + c] = 0


@njit(cache=True, boundscheck=False, inline="always")
def _plane_strips(plane, strips, H, W, kw, padding, dilation, ow, columns):
    """The kw strips of one plane, from ``strips[0]`` on: strip e, (H + 2*ph) rows of ow,
    is the plane as tap column e sees it (see ``_im2col_2d_stride1``); its padding rows
    and the columns that read the padding are zero."""
    ph, size = padding[0], (H + 2 * padding[0]) * ow
    for e in range(kw):
        _zero(strips, e * size, ph * ow)  # the padding rows above and below
        _zero(strips, e * size + (ph + H) * ow, ph * ow)
        w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
        if ow == W:  # 'same': rows [ph, ph + H) of the strip are the plane shifted, one run
            shift = e * dilation[1] - padding[1]
            first = min(max(0, -shift), H * W)  # the inputs it reads: [first, last)
            last = max(first, min(H * W, H * W - shift))
            _zero(strips, e * size + ph * W, first)
            _copy_run(strips, e * size + ph * W + first, plane, first + shift, last - first)
            _zero(strips, e * size + ph * W + last, H * W - last)
            _zero_columns(strips, e * size + ph * W, W, H, lo, hi)  # where the shift wrapped around
        else:
            for y in range(H):
                _copy_row(strips, e * size + (ph + y) * ow, plane, y * W + w, lo, hi, ow, 1)


@njit(cache=True, boundscheck=False, nogil=True)
def _im2col_2d_stride1(x, cols, strips, H, W, kernel, padding, dilation, oh, ow):
    """2-d, stride 1: x: (P, H*W) planes; cols: (P, kh*kw*oh*ow); strips: kw*(H + 2*ph)*ow.

    Strip e holds the plane as tap column e sees it: row ph + y is the input
    row y shifted by that tap's column offset, ow wide, zeros where it reads
    the padding (rows [0, ph) and [ph + H, H + 2*ph) are zero).  With stride
    1 the rows of taps (b, e) are then one contiguous run of strip e, from its
    row b*dh: kw*H short rows per plane, then kh*kw long copies, instead of
    kh*kw*oh short rows each cut into padding and data."""
    kh, kw = kernel
    dh = dilation[0]
    columns = column_taps(ow, W, kw, 1, padding[1], dilation[1])
    size, L = (H + 2 * padding[0]) * ow, oh * ow
    for p in range(x.shape[0]):
        target = cols[p]
        _plane_strips(x[p], strips, H, W, kw, padding, dilation, ow, columns)
        t = 0
        for b in range(kh):
            for e in range(kw):
                _copy_run(target, t, strips, e * size + b * dh * ow, L)
                t += L


@njit(cache=True, boundscheck=False, nogil=True)
def _im2strips_2d(x, strips, H, W, kw, padding, dilation, ow):
    """x: (P, H*W) planes -> strips: (P, kw*(H + 2*ph)*ow), every plane's strips in place."""
    columns = column_taps(ow, W, kw, 1, padding[1], dilation[1])
    for p in range(x.shape[0]):
        _plane_strips(x[p], strips[p], H, W, kw, padding, dilation, ow, columns)


@njit(cache=True, boundscheck=False, nogil=True)
def _col2im_2d_stride1(cols, x, strips, H, W, kernel, padding, dilation, oh, ow):
    """The adjoint of ``_im2col_2d_stride1``: the kh runs of tap column e are added into
    strip e, then each input row sums the kw strips' rows (every element of x is written)."""
    kh, kw = kernel
    ph, dh = padding[0], dilation[0]
    columns = column_taps(ow, W, kw, 1, padding[1], dilation[1])
    size, L = (H + 2 * ph) * ow, oh * ow
    for p in range(x.shape[0]):
        plane, source = x[p], cols[p]
        for e in range(kw):  # tap (0, e) covers strip rows [0, oh)
            _copy_run(strips, e * size, source, e * L, L)
            _zero(strips, e * size + L, size - L)
        for b in range(1, kh):  # the rows of cols in order (a cold source streams)
            for e in range(kw):
                _add_run(strips, e * size + b * dh * ow, source, (b * kw + e) * L, L)
        if ow == W:  # 'same': the plane is the sum of the kw strips' rows [ph, ph + H), shifted, as runs
            for e in range(kw):
                _zero_columns(strips, e * size, W, H + 2 * ph, columns[e, 1], columns[e, 2])
                shift = e * dilation[1] - padding[1]
                first = min(max(0, shift - ph * W), H * W)  # the outputs it reaches: [first, last)
                last = max(first, min(H * W, size - ph * W + shift))
                if e == 0:  # the first one is copied; what it does not reach is 0
                    _zero(plane, 0, first)
                    _copy_run(plane, first, strips, e * size + ph * W + first - shift, last - first)
                    _zero(plane, last, H * W - last)
                else:
                    _add_run(plane, first, strips, e * size + ph * W + first - shift, last - first)
            continue
        for y in range(H):
            _zero(plane, y * W, W)
            for e in range(kw):
                w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
                _add_row(plane, y * W + w, strips, e * size + (ph + y) * ow, lo, hi, 1)


@njit(cache=True, boundscheck=False, nogil=True)
def _im2col_3d(x, cols, shape, kernel, stride, padding, dilation, out):
    """x: (P, D*H*W) planes; cols: (P, taps*od*oh*ow), one row of ow outputs per (tap, i, j)."""
    D, H, W = shape
    od, oh, ow = out
    s = stride[2]
    columns = column_taps(ow, W, kernel[2], s, padding[2], dilation[2])
    rows = column_taps(oh, H, kernel[1], stride[1], padding[1], dilation[1])  # the same for the rows
    # 'same' geometry (stride 1 along the rows, as many output columns as input
    # columns): a block of consecutive rows is one contiguous run in x and in
    # cols, copied as one loop; only the columns in the padding are fixed after.
    runs = s == 1 and stride[1] == 1 and ow == W
    for p in range(x.shape[0]):
        plane, target = x[p], cols[p]
        t = 0  # start of the current row of target
        for a in range(kernel[0]):
            for b in range(kernel[1]):
                for e in range(kernel[2]):
                    w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
                    y_lo, j_lo, j_hi = rows[b, 0], rows[b, 1], rows[b, 2]  # y_lo: the input row of output row j_lo
                    for i in range(od):
                        z = i * stride[0] + a * dilation[0] - padding[0]
                        if runs and 0 <= z < D and j_lo < j_hi and lo < hi:
                            first, last = t + j_lo * ow, t + (j_hi - 1) * ow  # rows j_lo and j_hi - 1
                            _zero(target, t, j_lo * ow)  # rows in the padding
                            # from column lo of row j_lo to column hi - 1 of row j_hi - 1, one run
                            _copy_row(target, first, plane, (z * H + y_lo) * W + w, lo, last - first + hi, hi, 1)
                            for row in range(first, last + 1, ow):  # columns in the padding
                                _zero(target, row, lo)
                                _zero(target, row + hi, ow - hi)
                            _zero(target, last + ow, (oh - j_hi) * ow)  # rows in the padding
                            t += oh * ow
                            continue
                        for j in range(oh):
                            y = j * stride[1] + b * dilation[1] - padding[1]
                            if z < 0 or z >= D or y < 0 or y >= H:  # this row of windows is in the padding
                                _zero(target, t, ow)
                            elif s == 1:  # the same call twice: a constant stride lets LLVM vectorise
                                _copy_row(target, t, plane, (z * H + y) * W + w, lo, hi, ow, 1)
                            else:
                                _copy_row(target, t, plane, (z * H + y) * W + w, lo, hi, ow, s)
                            t += ow


@njit(cache=True, boundscheck=False, nogil=True)
def _col2im_3d(cols, x, shape, kernel, stride, padding, dilation, out):
    """The adjoint of ``_im2col_3d``: the same loops, adding each row back (x starts at 0)."""
    D, H, W = shape
    od, oh, ow = out
    s = stride[2]
    columns = column_taps(ow, W, kernel[2], s, padding[2], dilation[2])
    for p in range(x.shape[0]):
        plane, source = x[p], cols[p]
        t = 0
        for a in range(kernel[0]):
            for b in range(kernel[1]):
                for e in range(kernel[2]):
                    w, lo, hi = columns[e, 0], columns[e, 1], columns[e, 2]
                    for i in range(od):
                        z = i * stride[0] + a * dilation[0] - padding[0]
                        for j in range(oh):
                            y = j * stride[1] + b * dilation[1] - padding[1]
                            if 0 <= z < D and 0 <= y < H:
                                if s == 1:
                                    _add_row(plane, (z * H + y) * W + w, source, t, lo, hi, 1)
                                else:
                                    _add_row(plane, (z * H + y) * W + w, source, t, lo, hi, s)
                            t += ow


def _check_out(out, shape, dtype, op):
    """``out`` must be C-contiguous with the result's shape and dtype: the kernel writes
    through flat views of it (a reshape of anything else would be a copy)."""
    if out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"{op}: out must be a C-contiguous {dtype} array of shape {shape}, got shape "
            f"{out.shape}, dtype {out.dtype}, C-contiguous {out.flags.c_contiguous}"
        )


def _stride1_2d(spatial, stride):
    """Whether the 2-d stride-1 kernels apply (the convolutions of LeNet-5 and of ResNet but its downsampling)."""
    return len(spatial) == 2 and tuple(stride) == (1, 1)


def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """``x: (N, C, *in) -> cols: (N, C * prod(kernel_size), prod(out))`` (layout of ``im2col.py``),
    written into ``out`` (C-contiguous, that shape) when it is given."""
    N, C, *spatial = x.shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    taps, L = math.prod(kernel_size), math.prod(positions)
    if out is None:
        out = np.empty((N, C * taps, L), dtype=x.dtype)
    _check_out(out, (N, C * taps, L), x.dtype, "im2col")
    cols = out.reshape(N * C, taps * L)  # each (n, c) plane's taps rows, flat (a view: out is contiguous)
    planes = np.ascontiguousarray(x).reshape(N * C, -1)
    if _stride1_2d(spatial, stride):
        strips = np.empty(kernel_size[1] * (spatial[0] + 2 * padding[0]) * positions[1], dtype=x.dtype)
        _im2col_2d_stride1(planes, cols, strips, *spatial, tuple(kernel_size), tuple(padding), tuple(dilation),
                           *positions)
        return out
    _im2col_3d(planes, cols, spatial3, kernel3, stride3, padding3, dilation3, as_3d(positions)[0])
    return out


def im2strips(x, kernel_size, padding, dilation, out=None):
    """``x: (N, C, H, W) -> strips: (N, C * kw, (H + 2*ph) * W_out)`` (layout of ``im2col.im2strips``),
    written into ``out`` (C-contiguous, that shape) when it is given."""
    N, C, H, W = x.shape
    kh, kw = kernel_size
    ow = output_shape((W,), (kw,), (1,), (padding[1],), (dilation[1],))[0]
    shape = (N, C * kw, (H + 2 * padding[0]) * ow)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    _check_out(out, shape, x.dtype, "im2strips")
    planes = np.ascontiguousarray(x).reshape(N * C, H * W)
    _im2strips_2d(planes, out.reshape(N * C, -1), H, W, kw, tuple(padding), tuple(dilation), ow)
    return out


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out=None):
    """``cols: (N, C * prod(kernel_size), prod(out)) -> (N, C, *in)``, summing overlaps;
    written into ``out`` (C-contiguous, ``x_shape``) when it is given."""
    N, C, *spatial = x_shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    spatial3, kernel3, stride3, padding3, dilation3 = as_3d(spatial, kernel_size, stride, padding, dilation)
    stride1_2d = _stride1_2d(spatial, stride)  # this kernel writes every element; the general one adds
    if out is None:
        out = (np.empty if stride1_2d else np.zeros)(tuple(x_shape), dtype=cols.dtype)
    else:
        _check_out(out, tuple(x_shape), cols.dtype, "col2im")
        if not stride1_2d:
            out[...] = 0
    x = out.reshape(N * C, math.prod(spatial))  # a view: out is contiguous
    planes = np.ascontiguousarray(cols).reshape(N * C, -1)
    if stride1_2d:
        strips = np.empty(kernel_size[1] * (spatial[0] + 2 * padding[0]) * positions[1], dtype=cols.dtype)
        _col2im_2d_stride1(planes, x, strips, *spatial, tuple(kernel_size), tuple(padding), tuple(dilation),
                           *positions)
        return out
    _col2im_3d(planes, x, spatial3, kernel3, stride3, padding3, dilation3, as_3d(positions)[0])
    return out
