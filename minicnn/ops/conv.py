"""Convolution: ``conv1d``, ``conv2d``, ``conv3d`` and ``conv_transpose2d``.

A convolution layer slides F filters of shape (C/groups, kh, kw) over the
input and takes a dot product at every position (strictly a cross-correlation,
as in every deep-learning library)::

    y[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * x_pad[n, c, i*s + u*d, j*s + v*d]

Output size per spatial axis (``kernels/shapes.py``)::

    n_out = floor((n + 2p - d(f - 1) - 1) / s) + 1

As one matrix product.  ``im2col`` copies every window into a column, so
(with ``K = C*kh*kw`` and ``L = H_out*W_out``)::

    cols = im2col(x)        (N, K, L)
    Y    = W · cols         (F, K) · (N, K, L) -> (N, F, L) -> reshape (N, F, H_out, W_out)

and the backward pass is two more products plus the adjoint of ``im2col``::

    dW    = sum_n dY[n] · cols[n]^T      (F, L) · (L, K) -> (F, K)
    dcols = W^T · dY                     (K, F) · (N, F, L) -> (N, K, L)
    dx    = col2im(dcols)                adds each column entry back to its pixel
    db    = sum of dY over n and the spatial axes

Groups split the channels into G independent convolutions: the columns are
viewed as (N, G, K/G, L) and the weight as (G, F/G, K/G), so the same product
(batched over the groups) does all of them at once; ``groups = C`` is a
depthwise convolution.

The transposed convolution is the adjoint of the convolution with respect to
its input: its forward is exactly the convolution's ``dx`` (``W^T · x`` then
``col2im``) and its backward is the convolution's forward (``im2col`` then
``W · dcols``).  The three helpers below (``_convolve``, ``_convolve_adjoint``,
``_weight_gradient``) are therefore shared by both ops and by 1-, 2- and 3-d.

Choices of algorithm, each giving the reference's result (tests check it):

* a pointwise convolution (1x1 kernel, stride 1, no padding) needs no im2col:
  its columns are the input itself viewed as (N, C, H*W), so ``Y = W · x`` is
  a direct matrix product;
* cache blocking: on the CPU the batch goes through in chunks of a few
  samples whose columns fit a 4 MiB block (``kernels/workspace.py``), and each
  chunk is built, multiplied (and, backward, ``col2im``-ed) while it is still
  in the cache, in a scratch buffer reused chunk after chunk, with the chunks
  shared among the cores.  The whole-batch column matrix is never built, nor
  kept for backward: backward recomputes each chunk's columns::

      forward   for each chunk b:  y[b]  = W · im2col(x[b])
      backward  for each chunk b:  dx[b] = col2im(W^T · dy[b])
                                   dW^T += sum_{n in b} im2col(x[b])[n] · dy[n]^T

  (On the GPU only a cap, 512 MiB by default, splits the batch.)
* strips: for a 2-d stride-1 convolution the columns of tap row b are a
  window of the input's *strips*, kh times smaller than the columns; where
  it pays (ResNet-20's stages) forward and weight gradient multiply by the
  kh windows instead (``_Strips``);
* products in pieces: with OpenBLAS's AVX-512 kernels, the forward and
  input-gradient products of a chunk go to BLAS cut along their columns
  into pieces under 100^3 multiply-adds, which its unpacked small-matrix
  kernels take (``workspace.column_pieces``; ResNet-20's first stage: 44 ->
  94 GFLOP/s per core).
"""
from __future__ import annotations

import math
from numbers import Integral

from .. import kernels
from ..autograd.function import Function
from ..backend import get_array_module, is_gpu_array
from ..kernels.im2col import crop_spatial, into, pad_spatial
from ..kernels.shapes import conv_transpose_output_size, output_shape

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose2d"]

_SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}


# ------------------------------------------------------------- the three products
def _is_pointwise(kernel, stride, padding):
    """A 1x1 kernel with stride 1 and no padding: each column is one pixel's channels."""
    return all(k == 1 for k in kernel) and all(s == 1 for s in stride) and not any(padding)


def _columns(x, kernel, stride, padding, dilation, out=None):
    """``im2col(x)``: (n, C, *in) -> (n, C*K, L), into ``out`` when given.  For a
    pointwise (1x1) convolution the columns are x itself, viewed as (n, C, L):
    no copy, the product is direct."""
    if _is_pointwise(kernel, stride, padding):
        return x.reshape(x.shape[0], x.shape[1], -1)
    im2col = kernels.get("im2col", x)
    if out is None:
        return im2col(x, kernel, stride, padding, dilation)
    return im2col(x, kernel, stride, padding, dilation, out)


def _uncolumns(cols, x_shape, kernel, stride, padding, dilation, out=None):
    """``col2im(cols)``, the adjoint of ``_columns``, into ``out`` when given."""
    if _is_pointwise(kernel, stride, padding):
        return into(cols.reshape(x_shape), out)
    col2im = kernels.get("col2im", cols)
    if out is None:
        return col2im(cols, x_shape, kernel, stride, padding, dilation)
    return col2im(cols, x_shape, kernel, stride, padding, dilation, out)


class _Blocks:
    """How a convolution walks its batch: chunks of samples, a buffer for their columns, and
    the cores that run them.

    ``chunks``: slices of the batch whose columns fit a cache block (CPU) and the
    workspace cap (``kernels/workspace.py``); one slice, the whole batch, when
    everything fits, and for a pointwise convolution (no columns to build).
    ``buffer(i, shape)``: on the CPU a scratch array of ``shape`` reused from
    chunk to chunk (slot ``i``, one per thread; ``None`` on the GPU).
    ``map(fn)``: ``[fn(chunk) for chunk in chunks]``, the chunks shared among
    the CPU's cores.
    """

    MIN_THREADED_WORK = 8_000_000  # multiply-adds per chunk below which the chunks run serially

    def __init__(self, array, x_shape, kernel, out, stride, padding, per_sample=None, filters=None):
        N, C = x_shape[:2]
        self.array = array
        if _is_pointwise(kernel, stride, padding):
            self.chunks = [slice(0, N)]
        else:
            per_sample = per_sample or C * math.prod(kernel) * math.prod(out) * array.itemsize  # the columns
            self.chunks = kernels.batch_chunks(N, per_sample, array)
        self.split = len(self.chunks) > 1
        # a chunk must carry enough work to pay for its hand-over to a worker thread:
        # LeNet-5's first layer at batch 64 (two chunks of 3.8 M multiply-adds) ran 8-16%
        # faster serially, ResNet-20's chunks (17-50 M) 20-40% faster on both cores
        work = (filters or 0) * C * math.prod(kernel) * math.prod(out) * (self.chunks[0].stop - self.chunks[0].start)
        self.threaded = filters is None or work >= self.MIN_THREADED_WORK
        # the columns of a single chunk are kept for backward on the GPU only: on the CPU
        # they go, like every chunk's, into a reused buffer (a fresh array's page faults
        # cost more than building them again)
        self.keeps_columns = not self.split and is_gpu_array(array)

    def buffer(self, slot, shape):
        """A scratch array of ``shape`` reused from chunk to chunk and call to call (slot
        ``slot``, one per thread) on the CPU; ``None`` on the GPU (CuPy's pool reuses memory)."""
        return kernels.workspace.scratch(shape, self.array, slot)

    def map(self, fn):
        if not self.threaded:
            return [fn(chunk) for chunk in self.chunks]
        return kernels.workspace.map_chunks(fn, self.chunks, self.array)


class _Strips:
    """The columns of a 2-d, stride-1 convolution as kh windows of its *strips*.

    ``im2strips`` (``kernels/im2col.py``) writes, per channel c and tap column
    e, the input as that column of taps sees it, with every padded row:
    (n, C*kw, (H + 2ph)*W_out), kh times smaller than the columns.  The rows of
    taps (c, b, e) of im2col are then the window ``[b*dh*W_out, b*dh*W_out + L)``
    of strip (c, e), so the product over the columns is a sum over the kh
    tap rows, each a product with a window (a strided view, no copy)::

        W · cols = sum_b  W[:, :, b, :] · strips[:, b*dh*W_out : b*dh*W_out + L]
                          (F, C/G*kw)      (C/G*kw, L)  per group

    The weight gradient splits the same way: dW[:, :, b, :] = sum_n window_b · dy^T.
    CPU only (the Numba ``im2strips``); a kernel with one row of taps gains nothing.
    """

    MIN_ROW = 32  # entries per strip product row (C/G * kw): below, its products are too thin

    def __init__(self, kernel, groups, padding, dilation, out):
        self.kernel, self.groups, self.padding, self.dilation = tuple(kernel), groups, padding, dilation
        self.width, self.L = out[1], math.prod(out)
        self.step = dilation[0] * out[1]  # window b starts at b * step

    @classmethod
    def apply(cls, x, weight_shape, groups, stride, out):
        """Whether the convolution of ``x`` (N, C, H, W) by a weight of ``weight_shape``
        (F, C/G, kh, kw) takes the strips: measured per layer (fwd + bwd, docs/kernels.md),
        they win where the column product is one BLAS takes unpacked in a few pieces
        (ResNet-20's stages: 5-8%), and lose where a strip row is thin (the 3- and
        1-channel first layers: 17-41%) or the product large (VGG's: 0-2%)."""
        if x.ndim != 4 or tuple(stride) != (1, 1) or is_gpu_array(x):
            return False
        (F, per_group, kh, kw), limit = weight_shape, kernels.workspace.small_product_limit()
        column_product = F // groups * per_group * kh * kw * math.prod(out)
        return (kh > 1 and per_group * kw >= cls.MIN_ROW and limit is not None
                and column_product <= kernels.workspace.MAX_PIECES * limit
                and kernels.choose("im2strips", on_gpu=False) == "numba")

    def shape(self, x_chunk_shape):
        """The strips of a chunk of x: (n, C*kw, (H + 2ph) * W_out)."""
        n, C, H = x_chunk_shape[:3]
        return (n, C * self.kernel[1], (H + 2 * self.padding[0]) * self.width)

    def bytes_per_sample(self, x, filters):
        """What a chunk holds per sample, its strips and one product (F, L), for the block:
        sized by this rather than by the columns, a chunk has 2-3 times more samples, and
        fewer chunks cost less Python (ResNet-20 inference: 131 -> 122 ms)."""
        return (math.prod(self.shape(x.shape)[1:]) + filters * self.L) * x.itemsize

    def windows(self, x, out=None):
        """``im2strips(x)`` (into ``out``) as kh windows, each (n, G, C/G*kw, L)."""
        strips = kernels.get("im2strips", x)(x, self.kernel, self.padding, self.dilation, out)
        strips = strips.reshape(x.shape[0], self.groups, -1, strips.shape[-1])
        return [strips[..., b * self.step: b * self.step + self.L] for b in range(self.kernel[0])]

    def weight_rows(self, weight):
        """weight (F, C/G, kh, kw) -> one (G, F/G, C/G*kw) matrix per tap row b."""
        xp, F = get_array_module(weight), weight.shape[0]
        return [xp.ascontiguousarray(weight[:, :, b, :]).reshape(self.groups, F // self.groups, -1)
                for b in range(self.kernel[0])]


def _convolve(x, weight, groups, stride, padding, dilation):
    """``Y = W · im2col(x)`` for every group, chunk by chunk of the batch.

    x: (N, C, *in), weight: (F, C/G, *k) -> y: (N, F, *out) and the columns
    cols: (N, G, C/G * K, L), kept for the weight gradient when the whole batch
    was one chunk; ``None`` when it was split or when the strips were used
    (``_Strips``; backward then recomputes them)::

        for each chunk b:  cols_b = im2col(x[b]);  y[b] = W · cols_b   (still in the cache)
    """
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    F, kernel = weight.shape[0], weight.shape[2:]
    out = output_shape(spatial, kernel, stride, padding, dilation)
    L = math.prod(out)
    w = weight.reshape(groups, F // groups, -1)  # (G, F/G, C/G*K)
    strips = _Strips(kernel, groups, padding, dilation, out) if _Strips.apply(x, weight.shape, groups, stride,
                                                                             out) else None
    blocks = _Blocks(x, x.shape, kernel, out, stride, padding, strips.bytes_per_sample(x, F) if strips else None,
                     filters=F // groups)
    y = xp.empty((N, groups, F // groups, L), dtype=x.dtype)
    w_rows = strips.weight_rows(weight) if strips else None

    def forward_strips(part):  # y[b] = sum over the tap rows r of W_r · window_r
        target = y[part]  # (n, G, F/G, L)
        windows = strips.windows(x[part], blocks.buffer(0, strips.shape(x[part].shape)))
        kernels.workspace.matmul_in_pieces(w_rows[0], windows[0], target)
        for w_row, window in zip(w_rows[1:], windows[1:]):
            product = blocks.buffer(1, target.shape)
            product = xp.empty_like(target) if product is None else product
            target += kernels.workspace.matmul_in_pieces(w_row, window, product)

    def forward(part):
        n = part.stop - part.start
        cols = _columns(x[part], kernel, stride, padding, dilation, blocks.buffer(0, (n, C * math.prod(kernel), L)))
        cols = cols.reshape(n, groups, -1, L)  # (n, G, C/G*K, L)
        kernels.workspace.matmul_in_pieces(w, cols, y[part])  # (n, G, F/G, L)
        return cols

    cols = blocks.map(forward_strips if strips else forward)
    return y.reshape(N, F, *out), (cols[0] if blocks.keeps_columns and not strips else None)


def _convolve_adjoint(y, weight, groups, x_shape, stride, padding, dilation):
    """``x = col2im(W^T · y)``: the transpose of ``_convolve`` (as a map x -> y), chunk by chunk.

    y: (N, F, *out), weight: (F, C/G, *k) -> (N, C, *in) with ``x_shape``::

        for each chunk b:  x[b] = col2im(W^T · y[b])
    """
    xp = get_array_module(y)
    N, F, *out = y.shape
    kernel = weight.shape[2:]
    wt = weight.reshape(groups, F // groups, -1).swapaxes(1, 2)  # (G, C/G*K, F/G)
    y = y.reshape(N, groups, F // groups, -1)  # (N, G, F/G, L)
    blocks = _Blocks(y, x_shape, kernel, out, stride, padding, filters=F // groups)
    x = xp.empty(x_shape, dtype=y.dtype) if blocks.split else None  # one chunk: col2im allocates it

    def adjoint(part):
        n = part.stop - part.start
        shape = (n, *wt.shape[:2], y.shape[-1])  # (n, G, C/G*K, L)
        cols = blocks.buffer(0, shape)
        cols = kernels.workspace.matmul_in_pieces(wt, y[part], xp.empty(shape, y.dtype) if cols is None else cols)
        cols = cols.reshape(n, -1, cols.shape[-1])  # (n, C*K, L)
        return _uncolumns(cols, (n, *x_shape[1:]), kernel, stride, padding, dilation,
                          None if x is None else x[part])

    dx = blocks.map(adjoint)
    return dx[0] if x is None else x


def _weight_gradient(y, cols, source, groups, weight_shape, stride, padding, dilation):
    """``dW = sum_n y[n] · cols[n]^T`` per group, with ``cols = im2col(source)``.

    y: (N, F, *out), cols: (N, G, C/G*K, L) or ``None``; then they are
    recomputed from ``source`` chunk by chunk and the sum accumulates::

        dW^T = sum over chunks b of  sum_{n in b} im2col(source[b])[n] · y[n]^T

    (Where ``_Strips`` applies, the chunks build strips instead and each row of
    taps r gives ``dW[:, :, r, :]`` from its window.)
    -> (F, C/G, *k) = ``weight_shape``.  The product is taken transposed,
    ``cols · y^T`` (C/G*K, F/G), because OpenBLAS multiplies by a transposed
    *right* operand up to twice as fast as by a transposed left one, here the
    large column matrix (ResNet-20 stage 1: 67 instead of 132 us per sample).
    """
    xp = get_array_module(y)
    N, F = y.shape[:2]
    kernel = weight_shape[2:]
    y = y.reshape(N, groups, F // groups, -1)  # (N, G, F/G, L)
    if cols is not None:
        dwt = xp.matmul(cols, y.swapaxes(-1, -2)).sum(axis=0)  # (G, C/G*K, F/G)
        return dwt.swapaxes(-1, -2).reshape(weight_shape)
    C, K, L = source.shape[1], math.prod(kernel), y.shape[-1]
    out = output_shape(source.shape[2:], kernel, stride, padding, dilation)
    strips = _Strips(kernel, groups, padding, dilation, out) if _Strips.apply(source, weight_shape, groups,
                                                                              stride, out) else None
    blocks = _Blocks(source, source.shape, kernel, (L,), stride, padding,
                     strips.bytes_per_sample(source, F) if strips else None, filters=F // groups)
    if strips:

        def partial(part):  # dW^T for tap row r: sum_n window_r[n] · dy[n]^T
            n, dy = part.stop - part.start, y[part].swapaxes(-1, -2)  # (n, G, L, F/G)
            windows = strips.windows(source[part], blocks.buffer(0, strips.shape(source[part].shape)))
            products = blocks.buffer(1, (n, groups, C // groups * kernel[1], F // groups))
            rows = [xp.matmul(window, dy, out=products).sum(axis=0) for window in windows]  # (G, C/G*kw, F/G) each
            rows = [row.reshape(groups, C // groups, kernel[1], F // groups) for row in rows]
            return xp.stack(rows, axis=2)  # (G, C/G, kh, kw, F/G): the columns' row order (c, b, e)
    else:
        def partial(part):
            n = part.stop - part.start
            cols = _columns(source[part], kernel, stride, padding, dilation, blocks.buffer(0, (n, C * K, L)))
            cols = cols.reshape(n, groups, -1, L)  # (n, G, C/G*K, L)
            products = blocks.buffer(1, (n, groups, C // groups * K, F // groups))
            return xp.matmul(cols, y[part].swapaxes(-1, -2), out=products).sum(axis=0)  # (G, C/G*K, F/G)

    dwt = sum(blocks.map(partial)).reshape(groups, C // groups * K, F // groups)  # (G, C/G*K, F/G)
    return dwt.swapaxes(-1, -2).reshape(weight_shape)


def _bias_gradient(g):
    """db[f] = sum of g[n, f, ...] over the batch and the spatial axes."""
    return g.sum(axis=(0, *range(2, g.ndim)))


def _add_bias(y, bias):
    """y[:, f] += bias[f] in place (y is a fresh array)."""
    y += bias.reshape(-1, *(1,) * (y.ndim - 2))
    return y


# ----------------------------------------------------------------- convolution
class ConvNd(Function):
    """y = W * x + b for 1-, 2- or 3-d inputs (the math is in the module docstring).

    Shapes: x (N, C, *in), weight (F, C/groups, *k), bias (F,) -> y (N, F, *out).
    ``extra`` is one more zero at the end of an axis, for ``padding="same"`` when
    the total padding d(f - 1) is odd (PyTorch puts the odd one at the end).
    """

    def __init__(self, stride, padding, dilation, groups, extra):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.extra = groups, extra

    def forward(self, x, weight, bias=None):
        self.x_spatial = x.shape[2:]
        x = pad_spatial(x, (0,) * len(self.extra), self.extra)
        y, self.cols = _convolve(x, weight, self.groups, self.stride, self.padding, self.dilation)
        self.x_shape, self.weight = x.shape, weight
        self.x = x if self.cols is None else None  # chunked: backward recomputes the columns
        return y if bias is None else _add_bias(y, bias)

    def backward(self, g):
        # g: (N, F, *out)
        needs = self.needs_input_grad
        dx = dw = None
        if needs[0]:
            dx = _convolve_adjoint(
                g, self.weight, self.groups, self.x_shape, self.stride, self.padding, self.dilation
            )
            dx = crop_spatial(dx, (0,) * len(self.extra), self.x_spatial)
        if needs[1]:
            dw = _weight_gradient(g, self.cols, self.x, self.groups, self.weight.shape, self.stride,
                                  self.padding, self.dilation)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, _bias_gradient(g) if needs[2] else None


class ConvTransposeNd(Function):
    """The adjoint of ``ConvNd`` in its input ("deconvolution", fractionally strided).

    Shapes: x (N, C_in, *in), weight (C_in, C_out/groups, *k) (PyTorch's layout),
    bias (C_out,) -> y (N, C_out, *out) with
    ``out = (in - 1) s - 2p + d(f - 1) + 1 + output_padding``.

    Forward  y  = col2im(W^T · x)              (the convolution's dx)
    Backward dx = W · im2col(dy)               (the convolution's forward)
             dW = sum_n x[n] · im2col(dy)[n]^T (the convolution's dW, roles swapped)

    When ``output_padding >= stride`` the convolution of ``out`` has more
    positions than ``in``; x is then padded at the end with ``extra`` zeros.
    """

    def __init__(self, stride, padding, dilation, groups, out, extra):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.out, self.extra = groups, out, extra

    def forward(self, x, weight, bias=None):
        self.x_spatial = x.shape[2:]
        x = pad_spatial(x, (0,) * len(self.extra), self.extra)
        N = x.shape[0]
        y_shape = (N, weight.shape[1] * self.groups, *self.out)
        y = _convolve_adjoint(x, weight, self.groups, y_shape, self.stride, self.padding, self.dilation)
        self.x, self.weight = x, weight
        return y if bias is None else _add_bias(y, bias)

    def backward(self, g):
        # g: (N, C_out, *out)
        needs = self.needs_input_grad
        dx_padded, dcols = _convolve(g, self.weight, self.groups, self.stride, self.padding, self.dilation)
        dx = crop_spatial(dx_padded, (0,) * len(self.extra), self.x_spatial) if needs[0] else None
        dw = None
        if needs[1]:
            dw = _weight_gradient(self.x, dcols, g, self.groups, self.weight.shape, self.stride, self.padding,
                                  self.dilation)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, _bias_gradient(g) if needs[2] else None


# ------------------------------------------------------------ argument checking
def _tuple(value, d, name, op):
    """An int or a sequence of ``d`` ints -> tuple of ``d`` ints."""
    if isinstance(value, Integral):
        return (int(value),) * d
    if isinstance(value, (tuple, list)) and len(value) == d and all(isinstance(v, Integral) for v in value):
        return tuple(int(v) for v in value)
    raise TypeError(f"{op}: {name} must be an int or a tuple of {d} ints, got {name}={value!r}")


def _positive(values, name, op, minimum=1):
    if any(v < minimum for v in values):
        bound = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {bound}, got {name}={values}")
    return values


def _check_input(x, d, op):
    """x must be (N, C, *spatial) with ``d`` spatial axes, or unbatched (C, *spatial)."""
    if x.ndim not in (d + 1, d + 2):
        names = _SPATIAL_NAMES[d]
        raise ValueError(
            f"{op}: expected an input of shape (N, C, {names}) or (C, {names}), "
            f"got shape {tuple(x.shape)} ({x.ndim}-d)"
        )


def _check_output(out, spatial, kernel, padding, dilation, op, extra=None):
    """Raise when a window does not fit: the message gives the computed output size."""
    if all(o >= 1 for o in out):
        return
    extra = extra or (0,) * len(spatial)
    padded = tuple(n + 2 * p + e for n, p, e in zip(spatial, padding, extra))
    span = tuple(dl * (f - 1) + 1 for f, dl in zip(kernel, dilation))
    dilated = f" (dilated to {span})" if span != tuple(kernel) else ""
    raise ValueError(
        f"{op}: kernel size {tuple(kernel)}{dilated} is larger than the padded input {padded} "
        f"(input {tuple(spatial)}, padding {padding}): the output size would be {out}"
    )


def _conv_padding(padding, kernel, dilation, stride, d, op):
    """``padding`` -> (symmetric padding, extra zeros at the end) per axis.

    "valid" is no padding; "same" pads d(f - 1) in total so that n_out = n
    (stride 1 only, as in PyTorch), the odd one, if any, at the end.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * d, (0,) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1 (as in PyTorch), got stride={stride}")
            total = tuple(dl * (f - 1) for f, dl in zip(kernel, dilation))
            return tuple(t // 2 for t in total), tuple(t % 2 for t in total)
        raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got padding={padding!r}")
    return _positive(_tuple(padding, d, "padding", op), "padding", op, minimum=0), (0,) * d


def _check_weights(x, weight, bias, groups, op, transposed=False):
    """Channels, groups, bias shape and dtypes agree; messages name the shapes."""
    d = x.ndim - 2
    layout = "(C_in, C_out/groups" if transposed else "(C_out, C_in/groups"
    if weight.ndim != d + 2:
        kernel_names = ", ".join("k" + n.strip().lower() for n in _SPATIAL_NAMES[d].split(","))
        raise ValueError(
            f"{op}: expected a weight of shape {layout}, {kernel_names}), got shape {tuple(weight.shape)}"
        )
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got groups={groups!r}")
    C = x.shape[1]
    if transposed:
        expected, c_out = weight.shape[0], weight.shape[1] * groups
    else:
        expected, c_out = weight.shape[1] * groups, weight.shape[0]
    if C % groups or c_out % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide both the input channels ({C}) and the output "
            f"channels ({c_out}, weight shape {tuple(weight.shape)})"
        )
    if C != expected:
        with_groups = f" with groups={groups}" if groups > 1 else ""
        raise ValueError(
            f"{op}: input has {C} channels, weight expects {expected} "
            f"(weight shape {tuple(weight.shape)}{with_groups})"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(
            f"{op}: bias must have shape ({c_out},) for weight shape {tuple(weight.shape)}, "
            f"got {tuple(bias.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"{op}: input dtype {x.dtype} and {name} dtype {t.dtype} differ; "
                "convert one of them with .float() or .double()"
            )


def _batched(fn, x, *args):
    """Run ``fn`` on an unbatched input (C, *spatial) as a batch of one and drop that axis
    again from the result (or from each result, when ``fn`` returns several)."""
    result = fn(x.unsqueeze(0), *args)
    if isinstance(result, tuple):
        return tuple(r.squeeze(0) for r in result)
    return result.squeeze(0)


# ------------------------------------------------------------- public functions
def _conv(x, weight, bias, stride, padding, dilation, groups, d, op):
    """Shared by ``conv1d``/``conv2d``/``conv3d``: check the arguments, then apply ``ConvNd``."""
    _check_input(x, d, op)
    if x.ndim == d + 1:
        return _batched(_conv, x, weight, bias, stride, padding, dilation, groups, d, op)
    _check_weights(x, weight, bias, groups, op)
    stride = _positive(_tuple(stride, d, "stride", op), "stride", op)
    dilation = _positive(_tuple(dilation, d, "dilation", op), "dilation", op)
    kernel = tuple(weight.shape[2:])
    padding, extra = _conv_padding(padding, kernel, dilation, stride, d, op)
    spatial = tuple(n + e for n, e in zip(x.shape[2:], extra))
    _check_output(output_shape(spatial, kernel, stride, padding, dilation), x.shape[2:], kernel,
                  padding, dilation, op, extra)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvNd.apply(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups, extra=extra)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution: x (N, C, L), weight (F, C/groups, k), bias (F,) -> (N, F, L_out).

    ``L_out = floor((L + 2p - d(k - 1) - 1) / s) + 1``; padding may be an int,
    a 1-tuple, "valid" or "same".  See the module docstring for the math.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution: x (N, C, H, W), weight (F, C/groups, kh, kw), bias (F,)
    -> (N, F, H_out, W_out), each ``floor((n + 2p - d(f - 1) - 1) / s) + 1``.

    ``stride``, ``padding``, ``dilation``: an int or a pair; padding may also
    be "valid" (none) or "same" (output size = input size; stride 1 only).
    ``groups``: split the channels into independent groups (C for depthwise).

    >>> import minicnn as mc, minicnn.nn.functional as F
    >>> F.conv2d(mc.ones(1, 1, 6, 6), mc.ones(1, 1, 3, 3)).shape   # "valid": 6 - 3 + 1
    (1, 1, 4, 4)
    >>> F.conv2d(mc.ones(1, 1, 6, 6), mc.ones(1, 1, 3, 3), padding=1).shape   # "same"
    (1, 1, 6, 6)
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution: x (N, C, D, H, W), weight (F, C/groups, kd, kh, kw), bias (F,)
    -> (N, F, D_out, H_out, W_out).  Arguments as in ``conv2d`` (ints or triples)."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, d, op):
    """Check the arguments of a transposed convolution, then apply ``ConvTransposeNd``."""
    _check_input(x, d, op)
    if x.ndim == d + 1:
        return _batched(_conv_transpose, x, weight, bias, stride, padding, output_padding,
                        groups, dilation, d, op)
    _check_weights(x, weight, bias, groups, op, transposed=True)
    stride = _positive(_tuple(stride, d, "stride", op), "stride", op)
    dilation = _positive(_tuple(dilation, d, "dilation", op), "dilation", op)
    padding = _positive(_tuple(padding, d, "padding", op), "padding", op, minimum=0)
    output_padding = _positive(_tuple(output_padding, d, "output_padding", op), "output_padding", op, 0)
    if any(op_ >= max(s, dl) for op_, s, dl in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding must be smaller than stride or dilation, got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    kernel = tuple(weight.shape[2:])
    out = tuple(
        conv_transpose_output_size(n, f, s, p, dl, o)
        for n, f, s, p, dl, o in zip(x.shape[2:], kernel, stride, padding, dilation, output_padding)
    )
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: the output size would be {out} for input {tuple(x.shape[2:])}, kernel size "
            f"{kernel}, stride {stride}, padding {padding}, dilation {dilation}: reduce the padding"
        )
    # the convolution that this transposes maps `out` back to `positions` >= input size
    positions = output_shape(out, kernel, stride, padding, dilation)
    extra = tuple(m - n for m, n in zip(positions, x.shape[2:]))
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTransposeNd.apply(
        *inputs, stride=stride, padding=padding, dilation=dilation, groups=groups, out=out, extra=extra
    )


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution: x (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw),
    bias (C_out,) -> (N, C_out, H_out, W_out) with, per axis,

        n_out = (n - 1) s - 2p + d(f - 1) + 1 + output_padding

    It is the gradient of ``conv2d`` with respect to its input: a stride-2
    ``conv_transpose2d`` upsamples by 2 where a stride-2 ``conv2d`` downsamples.
    ``output_padding`` (< stride or dilation) picks among the input sizes that
    a strided convolution maps to the same output size.
    """
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")
