"""``im2col`` / ``col2im`` as CUDA kernels (the GPU fast path; layout as in ``im2col.py``).

One thread per output element, Chainer's way:

* ``im2col``: thread ``i`` owns one entry of ``cols: (N*C, K, L)`` (K kernel
  taps, L output positions).  It works out which plane, tap and position that
  is, where the tap reads in ``x`` (``o * stride - padding + k * dilation`` per
  axis) and copies that pixel, or 0 in the padding.  Neighbouring threads
  write neighbouring entries, so the writes are coalesced.
* ``col2im``: thread ``i`` owns one pixel of ``x`` and *gathers* every column
  entry that was copied from it: for each tap ``k`` the window ``o`` with
  ``o * stride == pixel + padding - k * dilation`` (when there is one).  No
  two threads write the same pixel, so no atomics are needed and the sum is
  deterministic.

1-, 2- and 3-d convolutions share the code: the geometry is always 3-d
(``cuda_module.window_arguments``).
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from .cuda_module import WINDOW_PARAMS, CudaModule, require_int32, window_arguments
from .shapes import output_shape

SOURCE = r"""
template <typename T>
__global__ void im2col(const T* x, T* cols, int total, WINDOW_GEOMETRY) {
    const int K = k_d * k_h * k_w, L = out_d * out_h * out_w;
    GRID_STRIDE_LOOP(i, total) {
        // i = (plane, tap, l) in cols: (N*C, K, L)
        const int l = i % L, tap = (i / L) % K, plane = i / (L * K);
        const int ow = l % out_w, oh = (l / out_w) % out_h, od = l / (out_w * out_h);
        const int kw = tap % k_w, kh = (tap / k_w) % k_h, kd = tap / (k_w * k_h);
        // the pixel this tap of window (od, oh, ow) reads (outside x: padding)
        const int z = od * s_d - p_d + kd * dl_d;
        const int y = oh * s_h - p_h + kh * dl_h;
        const int w = ow * s_w - p_w + kw * dl_w;
        const bool inside = 0 <= z && z < in_d && 0 <= y && y < in_h && 0 <= w && w < in_w;
        cols[i] = inside ? x[((plane * in_d + z) * in_h + y) * in_w + w] : T(0);
    }
}

template <typename T>
__global__ void col2im(const T* cols, T* x, int total, WINDOW_GEOMETRY) {
    const int K = k_d * k_h * k_w, L = out_d * out_h * out_w;
    GRID_STRIDE_LOOP(i, total) {
        // i = (plane, z, y, w) in x: (N*C, in_d, in_h, in_w)
        const int w = i % in_w, y = (i / in_w) % in_h, z = (i / (in_w * in_h)) % in_d;
        const int plane = i / (in_w * in_h * in_d);
        T sum = T(0);
        for (int kd = 0; kd < k_d; ++kd) {
            const int od = window_index(z + p_d - kd * dl_d, s_d, out_d);
            if (od < 0) continue;
            for (int kh = 0; kh < k_h; ++kh) {
                const int oh = window_index(y + p_h - kh * dl_h, s_h, out_h);
                if (oh < 0) continue;
                for (int kw = 0; kw < k_w; ++kw) {
                    const int ow = window_index(w + p_w - kw * dl_w, s_w, out_w);
                    if (ow < 0) continue;
                    const int tap = (kd * k_h + kh) * k_w + kw, l = (od * out_h + oh) * out_w + ow;
                    sum += cols[(plane * K + tap) * L + l];
                }
            }
        }
        x[i] = sum;
    }
}
"""

IM2COL = CudaModule("im2col", SOURCE, {
    "im2col": ("const T* x", "T* cols", "int total", *WINDOW_PARAMS),
    "col2im": ("const T* cols", "T* x", "int total", *WINDOW_PARAMS),
})


def _result(xp, out, shape, dtype):
    """Where a kernel writes: ``out`` when given (C-contiguous, of ``shape`` and ``dtype``), else a new array."""
    if out is None:
        return xp.empty(shape, dtype=dtype)
    if tuple(out.shape) != tuple(shape) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {dtype} array of shape {tuple(shape)}, "
                         f"got {out.dtype} {tuple(out.shape)}")
    return out


def im2col(x, kernel_size, stride, padding, dilation, out=None):
    """``x: (N, C, *in) -> cols: (N, C * prod(kernel_size), prod(out))``, into ``out`` when given."""
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    cols = _result(xp, out, (N, C * math.prod(kernel_size), math.prod(positions)), x.dtype)
    require_int32(cols.size, x.size)
    geometry = window_arguments(spatial, positions, kernel_size, stride, padding, dilation)
    IM2COL.launch("im2col", x.dtype, cols.size, (xp.ascontiguousarray(x), cols, cols.size, *geometry))
    return cols


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out=None):
    """``cols: (N, C * prod(kernel_size), prod(out)) -> (N, C, *in)``, summing overlaps, into ``out`` when given."""
    xp = get_array_module(cols)
    N, C, *spatial = x_shape
    positions = output_shape(spatial, kernel_size, stride, padding, dilation)
    x = _result(xp, out, tuple(x_shape), cols.dtype)
    require_int32(cols.size, x.size)
    geometry = window_arguments(spatial, positions, kernel_size, stride, padding, dilation)
    IM2COL.launch("col2im", cols.dtype, x.size, (xp.ascontiguousarray(cols), x, x.size, *geometry))
    return x
