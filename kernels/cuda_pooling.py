"""Max and average pooling as CUDA kernels (the GPU fast path; conventions as in ``pooling.py``).

* ``max_pool_forward``: one thread per output; it walks its window's taps in
  order and keeps the first largest value (a NaN wins at once), with its flat
  position in the (n, c) plane, or -1 when the winner lies in the padding.
* ``max_pool_backward``: one thread per output adds its gradient to the
  winner's pixel.  Overlapping windows can pick the same pixel, so the add is
  an ``atomicAdd`` (for non-overlapping windows, the usual case, no two
  threads ever meet).
* ``avg_pool_forward``: one thread per output sums its window and divides by
  the window's size (``window_size`` below, ``_avg_divisor`` of the reference).
* ``avg_pool_backward``: one thread per input pixel gathers ``g / size`` from
  every window that covers it (as ``col2im`` does), so no atomics.

Pooling has no weights, so the kernels loop over a window's taps themselves
instead of building a column matrix.
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from .cuda_module import WINDOW_PARAMS, CudaModule, require_int32, window_arguments
from .shapes import output_shape

SOURCE = r"""
// Elements of window o along one axis that the mean divides by: the window
// [o*s - p, o*s - p + f) cut at the end of the right padding (n + p) and, without
// count_include_pad, to the input [0, n).
__device__ __forceinline__ int window_extent(int o, int f, int s, int p, int n, int count_include_pad) {
    int start = o * s - p, end = min(start + f, n + p);
    if (!count_include_pad) { start = max(start, 0); end = min(end, n); }
    return end - start;
}

template <typename T>
__global__ void max_pool_forward(const T* x, T* y, long long* indices, int total, T minus_infinity, WINDOW_GEOMETRY) {
    // (minus_infinity: -inf, the value of padding, is a parameter as NVRTC has no INFINITY without headers)
    const int L = out_d * out_h * out_w, plane_size = in_d * in_h * in_w;
    GRID_STRIDE_LOOP(i, total) {
        const int l = i % L, plane = i / L;
        const int ow = l % out_w, oh = (l / out_w) % out_h, od = l / (out_w * out_h);
        T best = minus_infinity;
        long long where = -1;
        bool first = true;  // the first tap sets the running maximum, padding or not
        // a NaN is the maximum of any window holding one: stop at the first
        for (int kd = 0; kd < k_d && !isnan(best); ++kd)
            for (int kh = 0; kh < k_h && !isnan(best); ++kh)
                for (int kw = 0; kw < k_w && !isnan(best); ++kw) {
                    const int z = od * s_d - p_d + kd * dl_d;
                    const int y_ = oh * s_h - p_h + kh * dl_h;
                    const int w = ow * s_w - p_w + kw * dl_w;
                    const bool inside = 0 <= z && z < in_d && 0 <= y_ && y_ < in_h && 0 <= w && w < in_w;
                    const int position = (z * in_h + y_) * in_w + w;
                    const T value = inside ? x[plane * plane_size + position] : minus_infinity;
                    if (first || value > best || isnan(value)) {  // ties keep the earlier tap
                        best = value;
                        where = inside ? position : -1;
                        first = false;
                    }
                }
        y[i] = best;
        indices[i] = where;
    }
}

template <typename T>
__global__ void max_pool_backward(const T* grad_out, const long long* indices, T* grad_x, int total,
                                  int outputs_per_plane, int plane_size) {
    GRID_STRIDE_LOOP(i, total) {
        const long long where = indices[i];
        if (where >= 0)  // -1: the window lay wholly in the padding and passes nothing
            atomicAdd(&grad_x[(i / outputs_per_plane) * (long long)plane_size + where], grad_out[i]);
    }
}

template <typename T>
__global__ void avg_pool_forward(const T* x, T* y, int total, int count_include_pad, WINDOW_GEOMETRY) {
    const int L = out_d * out_h * out_w, plane_size = in_d * in_h * in_w;
    GRID_STRIDE_LOOP(i, total) {
        const int l = i % L, plane = i / L;
        const int ow = l % out_w, oh = (l / out_w) % out_h, od = l / (out_w * out_h);
        T sum = T(0);
        for (int kd = 0; kd < k_d; ++kd) {
            const int z = od * s_d - p_d + kd;
            if (z < 0 || z >= in_d) continue;
            for (int kh = 0; kh < k_h; ++kh) {
                const int y_ = oh * s_h - p_h + kh;
                if (y_ < 0 || y_ >= in_h) continue;
                for (int kw = 0; kw < k_w; ++kw) {
                    const int w = ow * s_w - p_w + kw;
                    if (w < 0 || w >= in_w) continue;
                    sum += x[plane * plane_size + (z * in_h + y_) * in_w + w];
                }
            }
        }
        const int size = window_extent(od, k_d, s_d, p_d, in_d, count_include_pad)
                       * window_extent(oh, k_h, s_h, p_h, in_h, count_include_pad)
                       * window_extent(ow, k_w, s_w, p_w, in_w, count_include_pad);
        y[i] = sum / T(size);
    }
}

template <typename T>
__global__ void avg_pool_backward(const T* grad_out, T* grad_x, int total, int count_include_pad, WINDOW_GEOMETRY) {
    const int L = out_d * out_h * out_w;
    GRID_STRIDE_LOOP(i, total) {
        // i = (plane, z, y, w) in grad_x; gather from every window covering the pixel
        const int w = i % in_w, y_ = (i / in_w) % in_h, z = (i / (in_w * in_h)) % in_d;
        const int plane = i / (in_w * in_h * in_d);
        T sum = T(0);
        for (int kd = 0; kd < k_d; ++kd) {
            const int od = window_index(z + p_d - kd, s_d, out_d);
            if (od < 0) continue;
            for (int kh = 0; kh < k_h; ++kh) {
                const int oh = window_index(y_ + p_h - kh, s_h, out_h);
                if (oh < 0) continue;
                for (int kw = 0; kw < k_w; ++kw) {
                    const int ow = window_index(w + p_w - kw, s_w, out_w);
                    if (ow < 0) continue;
                    const int size = window_extent(od, k_d, s_d, p_d, in_d, count_include_pad)
                                   * window_extent(oh, k_h, s_h, p_h, in_h, count_include_pad)
                                   * window_extent(ow, k_w, s_w, p_w, in_w, count_include_pad);
                    sum += grad_out[plane * L + (od * out_h + oh) * out_w + ow] / T(size);
                }
            }
        }
        grad_x[i] = sum;
    }
}
"""

POOLING = CudaModule("pooling", SOURCE, {
    "max_pool_forward": ("const T* x", "T* y", "long long* indices", "int total", "T minus_infinity", *WINDOW_PARAMS),
    "max_pool_backward": ("const T* grad_out", "const long long* indices", "T* grad_x", "int total",
                          "int outputs_per_plane", "int plane_size"),
    "avg_pool_forward": ("const T* x", "T* y", "int total", "int count_include_pad", *WINDOW_PARAMS),
    "avg_pool_backward": ("const T* grad_out", "T* grad_x", "int total", "int count_include_pad", *WINDOW_PARAMS),
})


def max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Maximum of every window and its flat position: ``(out, indices)``."""
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    out = output_shape(spatial, kernel_size, stride, padding, dilation, ceil_mode)
    y = xp.empty((N, C, *out), dtype=x.dtype)
    indices = xp.empty((N, C, *out), dtype=xp.int64)
    require_int32(x.size, y.size)
    geometry = window_arguments(spatial, out, kernel_size, stride, padding, dilation)
    POOLING.launch("max_pool_forward", x.dtype, y.size, (xp.ascontiguousarray(x), y, indices, y.size, -math.inf, *geometry))
    return y, indices


def max_pool_backward(grad_out, indices, x_shape):
    """``grad_x[n, c, indices[n, c, o]] += grad_out[n, c, o]``."""
    xp = get_array_module(grad_out)
    N, C, *spatial = x_shape
    grad_x = xp.zeros(tuple(x_shape), dtype=grad_out.dtype)
    require_int32(grad_out.size, grad_x.size)
    outputs_per_plane = grad_out.size // max(N * C, 1)
    POOLING.launch("max_pool_backward", grad_out.dtype, grad_out.size, (
        xp.ascontiguousarray(grad_out), xp.ascontiguousarray(indices, dtype=xp.int64), grad_x,
        grad_out.size, outputs_per_plane, math.prod(spatial),
    ))
    return grad_x


def _average_geometry(spatial, kernel_size, stride, padding, ceil_mode):
    """Output size and window geometry of average pooling (no dilation)."""
    no_dilation = (1,) * len(spatial)
    out = output_shape(spatial, kernel_size, stride, padding, no_dilation, ceil_mode)
    return out, window_arguments(spatial, out, kernel_size, stride, padding, no_dilation)


def avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Mean of every window."""
    xp = get_array_module(x)
    N, C, *spatial = x.shape
    out, geometry = _average_geometry(spatial, kernel_size, stride, padding, ceil_mode)
    y = xp.empty((N, C, *out), dtype=x.dtype)
    require_int32(x.size, y.size)
    POOLING.launch("avg_pool_forward", x.dtype, y.size,
                   (xp.ascontiguousarray(x), y, y.size, int(count_include_pad), *geometry))
    return y


def avg_pool_backward(grad_out, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Every pixel gathers ``grad_out[o] / size(o)`` from the windows ``o`` that cover it."""
    xp = get_array_module(grad_out)
    N, C, *spatial = x_shape
    out, geometry = _average_geometry(spatial, kernel_size, stride, padding, ceil_mode)
    grad_x = xp.empty(tuple(x_shape), dtype=grad_out.dtype)
    require_int32(grad_out.size, grad_x.size)
    POOLING.launch("avg_pool_backward", grad_out.dtype, grad_x.size,
                   (xp.ascontiguousarray(grad_out), grad_x, grad_x.size, int(count_include_pad), *geometry))
    return grad_x
