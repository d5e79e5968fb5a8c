"""The losses of neural style transfer (Gatys, Ecker & Bethge, 2016), built from minicnn ops.

Notation (one layer l of the network, one image):
    F^l: the layer's activations flattened to a C_l x M_l matrix, M_l = H_l * W_l
         (row i is feature map i, read as one long vector);
    P^l: the same for the content image,  A^l: the Gram matrix of the style image.

Content: the target should have the content image's activations at one deep
layer (conv4_2).  Gatys et al. write  L_content = 1/2 sum_ij (F_ij - P_ij)^2;
here it is the mean, so that its size does not grow with the image:

    L_content = 1 / (C M) * sum_ij (F_ij - P_ij)^2

Style: what textures share is *which feature maps fire together*, not where.
The Gram matrix keeps exactly that, the inner products between feature maps:

    G^l_ij = 1 / (C_l M_l) * sum_k F^l_ik F^l_jk,        G = F F^T / (C H W)

The normalisation by C·H·W makes Gram matrices of different layers and of
images of different sizes comparable (an image twice as wide has twice as
many terms in each sum).  The style loss sums the layers' squared Gram
differences, each with its weight w_l:

    L_style = sum_l w_l * 1 / C_l^2 * sum_ij (G^l_ij - A^l_ij)^2

(Gatys et al.'s E_l = 1 / (4 C_l^2 M_l^2) sum (G - A)^2 with *unnormalised*
Gram matrices is (C_l^2 / 4) times the per-layer term here: the same loss up
to a constant factor per layer, absorbed by w_l.)

Total variation (a smoothness prior that removes high-frequency noise):

    L_tv = mean_{c,i,j} (x_{c,i+1,j} - x_{c,i,j})^2 + mean_{c,i,j} (x_{c,i,j+1} - x_{c,i,j})^2

The total loss is  alpha * L_content + beta * L_style + gamma * L_tv  (content
weight alpha, style weight beta, TV weight gamma).  Every function here is
a composition of differentiable minicnn ops (reshape, matmul, subtraction,
mean), so backward gives dL/d(image) with no hand-written gradient.
"""
from __future__ import annotations

__all__ = ["gram_matrix", "content_loss", "style_loss", "total_variation_loss"]


def gram_matrix(features):
    """G = F F^T / (C H W) for each image of a batch.

    features: (N, C, H, W) -> (N, C, C), G[n, i, j] = sum_k F[n, i, k] F[n, j, k] / (C H W)
    with F = features.reshape(N, C, H W).
    """
    if features.ndim != 4:
        raise ValueError(f"gram_matrix: expected features of shape (N, C, H, W), got {tuple(features.shape)}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return (flat @ flat.transpose(1, 2)) / (c * h * w)


def content_loss(target_features, content_features):
    """L_content = mean over all elements of (F - P)^2 (F: target, P: content activations)."""
    _check_same_shape("content_loss", target_features, content_features)
    diff = target_features - content_features
    return (diff * diff).mean()


def style_loss(target_features, style_grams, layer_weights=None):
    """L_style = sum_l w_l * mean_ij (G^l_ij - A^l_ij)^2.

    target_features: {layer: (N, C, H, W)} activations of the image being optimised;
    style_grams: {layer: (N or 1, C, C)} Gram matrices of the style image, computed once;
    layer_weights: {layer: w_l}; None gives every layer of ``style_grams`` the weight
    1 / (number of layers), as Gatys et al. do.  Only layers with a weight count.
    """
    if layer_weights is None:
        layer_weights = {name: 1.0 / len(style_grams) for name in style_grams}
    missing = [name for name in layer_weights if name not in target_features or name not in style_grams]
    if missing:
        raise KeyError(f"style_loss: no activations or style Gram matrix for layer(s) {', '.join(missing)}; "
                       f"have activations of {', '.join(target_features)} and Gram matrices of {', '.join(style_grams)}")
    total = None
    for name, weight in layer_weights.items():
        gram = gram_matrix(target_features[name])
        diff = gram - style_grams[name]
        term = (diff * diff).mean() * weight
        total = term if total is None else total + term
    return total


def total_variation_loss(image):
    """L_tv = mean (vertical neighbour differences)^2 + mean (horizontal neighbour differences)^2.

    image: (N, C, H, W) with H, W >= 2 -> a scalar.
    """
    if image.ndim != 4 or image.shape[2] < 2 or image.shape[3] < 2:
        raise ValueError(f"total_variation_loss: expected an image of shape (N, C, H>=2, W>=2), got {tuple(image.shape)}")
    down = image[:, :, 1:, :] - image[:, :, :-1, :]
    right = image[:, :, :, 1:] - image[:, :, :, :-1]
    return (down * down).mean() + (right * right).mean()


def _check_same_shape(op, a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: target and reference activations differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
