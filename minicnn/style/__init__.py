"""Optimising images through a frozen VGG-19: neural style transfer and DeepDream.

    from minicnn.style import style_transfer, deep_dream, load_image, save_image
    content, style = load_image("photo.jpg"), load_image("painting.jpg")
    result = style_transfer(content, style, size=256, steps=300, weights="vgg19.npz")
    save_image(result.image, "out.png")

* ``features``: ``VGGFeatures``, VGG-19 activations by layer name, frozen and truncated;
* ``losses``: ``gram_matrix``, ``content_loss``, ``style_loss``, ``total_variation_loss``;
* ``transfer``: ``style_transfer`` (Gatys et al.), Adam or L-BFGS;
* ``dream``: ``deep_dream``, gradient ascent on activations over an octave pyramid;
* ``images``: load / resize / save with Pillow, arrays <-> tensors;
* ``cli``: the ``minicnn style`` and ``minicnn dream`` commands.

Without a weights file the network has random weights (a documented fallback);
every entry point says which it used.  See docs/style_transfer.md.
"""
from .features import LAYER_NAMES, VGGFeatures, WeightsError, load_vgg19_state_dict, vgg19_features
from .images import image_to_tensor, load_image, resize_image, save_image, tensor_to_image
from .losses import content_loss, gram_matrix, style_loss, total_variation_loss
from .transfer import StyleTransferResult, style_transfer
from .dream import DreamResult, deep_dream, dream_objective

__all__ = [
    "LAYER_NAMES", "VGGFeatures", "WeightsError", "load_vgg19_state_dict", "vgg19_features",
    "image_to_tensor", "load_image", "resize_image", "save_image", "tensor_to_image",
    "content_loss", "gram_matrix", "style_loss", "total_variation_loss",
    "StyleTransferResult", "style_transfer", "DreamResult", "deep_dream", "dream_objective",
]
