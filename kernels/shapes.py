"""Output-size arithmetic of sliding windows: convolution, pooling, transposed convolution.

One spatial axis of length ``n``, a window of ``f`` taps spaced ``d`` apart
(dilation; the window then spans ``d(f - 1) + 1`` elements), ``p`` zeros added
on each side, and a step of ``s`` between windows (stride).  The padded axis has
``n + 2p`` elements; a window fits at start positions ``0, s, 2s, ...`` as long
as it ends inside, so the number of windows is::

    n_out = floor((n + 2p - d(f - 1) - 1) / s) + 1

With ``d = 1`` this is the course's ``floor((n + 2p - f) / s) + 1``: a 6x6 image
and a 3x3 filter give 4x4 ("valid", p = 0) and 6x6 with p = 1 ("same").

Pooling's ``ceil_mode=True`` rounds the division up instead, so that a last,
partial window covers the elements that floor would leave out; as in PyTorch
that last window is dropped again when it would start past the input (in the
right padding), i.e. when ``(n_out - 1) s >= n + p``.

Everything that slides a window (the ``im2col`` and pooling kernels, the conv
and pooling ops, the layers) gets its sizes from here.
"""
from __future__ import annotations


def conv_output_size(n, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Number of window positions along one axis (see the module docstring).

    May return 0 or less when the window is larger than the padded input: the
    callers turn that into an error message that names the shapes.
    """
    span = dilation * (kernel - 1) + 1  # elements covered by one window
    room = n + 2 * padding - span  # how far the window can move
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1  # ceil division
    if (out - 1) * stride >= n + padding:  # the last window would start in the right padding
        out -= 1
    return out


def output_shape(spatial, kernel, stride, padding, dilation, ceil_mode=False):
    """``conv_output_size`` for every spatial axis: tuples in, tuple out."""
    return tuple(
        conv_output_size(n, f, s, p, d, ceil_mode)
        for n, f, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )


def conv_transpose_output_size(n, kernel, stride=1, padding=0, dilation=1, output_padding=0):
    """Length of a transposed convolution's output along one axis.

    The transposed convolution maps back from the ``n`` positions of a
    convolution to that convolution's input size: solving the formula above
    for the input gives ``(n - 1) s - 2p + d(f - 1) + 1``.  Because the floor
    loses up to ``s - 1`` elements, ``output_padding`` (< stride or dilation)
    says how many of those to add back at the end.
    """
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 + output_padding
