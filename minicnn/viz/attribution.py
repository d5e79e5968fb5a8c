"""Which parts of an image made the network say what it said.

Three answers, each a heatmap over the image for one class (by default the
predicted one):

* ``saliency_map``: how much each pixel's value moves the class score
  (the gradient of the score with respect to the input);
* ``grad_cam``: which places a convolutional layer's channels, weighted by
  their importance for the class, light up (Selvaraju et al., 2017);
* ``occlusion_sensitivity``: how much the class probability drops when a
  grey square hides each place (Zeiler and Fergus, 2014).

The model runs in eval mode with frozen parameters (``inspecting``): only the
input, or the chosen layer's output, requires grad.
"""
from __future__ import annotations

from .. import backend, nn
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..ops.activation import softmax
from ..ops.resize import interpolate
from . import plotting
from ._common import choose_class, find_layer, inspecting, layer_names, prepare_image, to_numpy


def saliency_map(model, image, target=None, path=None):
    """|d score / d pixel|, maximised over the channels: (H, W).

    ``score`` is the class's logit (before softmax); ``target`` the class
    index (default: the predicted class).  Steps of the course notes: feed the
    image, backpropagate the class score to the input, take the maximum of
    the absolute gradient across channels.  For a linear model
    ``score = W[target] . x + b`` the map is max_c |W[target, c]|.
    ``path`` writes [image | map | map over the image] as a PNG.
    """
    op = "saliency_map"
    with inspecting(model):
        x = prepare_image(model, image, op).requires_grad_()
        logits = model(x)
        target = choose_class(logits, target, op)
        logits[0, target].backward()
        saliency = abs(x.grad.data[0]).max(axis=0)
    saliency = to_numpy(saliency)
    if path is not None:
        _picture(image, saliency, path, "saliency", target, cmap="hot")
    return saliency


def grad_cam(model, image, target=None, layer=None, path=None):
    """The Grad-CAM heatmap of ``target`` at a convolutional layer, upsampled to the image: (H, W) in [0, 1].

    With A the layer's output (K channels of h x w) and y the class score,

        alpha_k = mean_{i,j} dy/dA_k[i, j]          (how much channel k matters for the class)
        cam     = ReLU(sum_k alpha_k A_k)            (h, w)

    then ``cam`` is resized to the image by bilinear interpolation
    (``F.interpolate``) and divided by its maximum (all zeros when no place
    speaks for the class).  ``layer``: the name of a layer with a
    (N, K, h, w) output, usually the last convolution or its activation
    (default: the last Conv2d).  ``path`` writes [image | cam | cam over the
    image] as a PNG.
    """
    op = "grad_cam"
    if layer is None:
        convs = layer_names(model, nn.Conv2d)
        if not convs:
            raise ValueError(f"{op}: the model has no Conv2d layer; pass layer= the name of a layer "
                             "with a (N, C, H, W) output")
        layer = convs[-1]
    module = find_layer(model, layer, op)
    caught = []

    def cut(module, args, output):
        # The layer's output becomes a leaf of the graph: backward stops there
        # and leaves dy/dA in its .grad (nothing before it is differentiated).
        if not caught:
            caught.append(output.detach().requires_grad_())
            return caught[0]
        return None

    with inspecting(model):
        x = prepare_image(model, image, op)
        with module.register_forward_hook(cut):
            logits = model(x)
        if not caught or caught[0].ndim != 4:
            got = f"an output of shape {tuple(caught[0].shape)}" if caught else "no output (it never ran)"
            raise ValueError(f"{op}: layer {layer!r} gives {got}; Grad-CAM needs a layer with a (N, C, H, W) output")
        target = choose_class(logits, target, op)
        logits[0, target].backward()
        feature_maps, gradients = caught[0].data[0], caught[0].grad.data[0]  # (K, h, w) each
        weights = gradients.mean(axis=(1, 2))  # alpha_k
        xp = backend.get_array_module(feature_maps)
        cam = xp.maximum((weights[:, None, None] * feature_maps).sum(axis=0), 0)  # ReLU
        with no_grad():
            cam = interpolate(Tensor(cam[None, None]), size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)
    cam = to_numpy(cam)[0, 0]
    if cam.max() > 0:
        cam = cam / cam.max()
    if path is not None:
        _picture(image, cam, path, f"Grad-CAM {layer}", target)
    return cam


def occlusion_sensitivity(model, image, target=None, size=8, stride=None, fill=0.5, batch_size=64, path=None):
    """How much the class probability drops when a ``size`` x ``size`` square hides each place.

    The square (every channel set to ``fill``: mid-grey for images in [0, 1])
    slides over the image by ``stride`` pixels (default ``size // 2``); with
    p the softmax probability of ``target`` (default: the predicted class),

        drop[i, j] = p(image) - p(image with the square at row i*stride, column j*stride)

    of shape ((H - size) // stride + 1, (W - size) // stride + 1).  The
    probability map of the course notes ("plot the probability of the
    correct label") is p(image) - drop: low where the square hides what the
    network looks at.  The occluded images are built by one masked select
    per batch of ``batch_size`` positions and classified together.  ``path``
    writes [image | drop | drop over the image] as a PNG.
    """
    op = "occlusion_sensitivity"
    with inspecting(model), no_grad():
        x = prepare_image(model, image, op)
        height, width = x.shape[2:]
        stride = max(1, size // 2) if stride is None else stride
        fits = isinstance(size, int) and 1 <= size <= min(height, width)
        if not fits or not (isinstance(stride, int) and stride >= 1):
            raise ValueError(
                f"{op}: the square must fit the image ({height}x{width}) and the stride be positive, "
                f"got size={size!r}, stride={stride!r}"
            )
        xp = backend.get_array_module(x.data)
        probabilities = softmax(model(x), axis=1).data
        target = choose_class(Tensor(probabilities), target, op)
        tops = xp.arange(0, height - size + 1, stride)
        lefts = xp.arange(0, width - size + 1, stride)
        top, left = (a.ravel() for a in xp.meshgrid(tops, lefts, indexing="ij"))  # one entry per position
        rows, cols = xp.arange(height), xp.arange(width)
        occluded_p = []
        for start in range(0, top.size, batch_size):
            t, l = top[start:start + batch_size, None], left[start:start + batch_size, None]
            in_rows = (rows >= t) & (rows < t + size)  # (P, H)
            in_cols = (cols >= l) & (cols < l + size)  # (P, W)
            square = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (P, 1, H, W)
            batch = xp.where(square, xp.asarray(fill, dtype=x.data.dtype), x.data)  # (P, C, H, W)
            occluded_p.append(softmax(model(Tensor(batch)), axis=1).data[:, target])
        drop = probabilities[0, target] - xp.concatenate(occluded_p).reshape(tops.size, lefts.size)
    drop = to_numpy(drop)
    if path is not None:
        centre = (size - 1) / 2  # of the first square, in pixel coordinates
        extent = (centre - stride / 2, centre + (lefts.size - 0.5) * stride,
                  centre + (tops.size - 0.5) * stride, centre - stride / 2)
        _picture(image, drop, path, f"occlusion {size}x{size}", target, extent=extent)
    return drop


def _picture(image, heatmap, path, name, target, cmap="jet", extent=None):
    """Write [image | heatmap | heatmap over the image] (one row of three tiles) to ``path``.

    ``extent``: where the heatmap lies in the image's pixel coordinates
    (default: exactly over it).
    """
    pixels = to_numpy(image)
    image = plotting.display_image(pixels.reshape(pixels.shape[-3:]))
    height, width = image.shape[:2]
    extent = extent or (-0.5, width - 0.5, height - 0.5, -0.5)
    figure = plotting.new_figure(1, 3)
    axes = figure.subplots(1, 3)
    plotting.show_tile(axes[0], image, f"image, class {target}")
    plotting.show_tile(axes[1], heatmap, name, cmap=cmap, extent=extent)
    plotting.show_tile(axes[2], image, "overlay")
    axes[2].imshow(heatmap, cmap=cmap, alpha=0.5, extent=extent)
    for axis in axes:
        axis.set_xlim(-0.5, width - 0.5)
        axis.set_ylim(height - 0.5, -0.5)
    plotting.save(figure, path)
