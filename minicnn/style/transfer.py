"""Neural style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016).

The picture being made, x, is the only thing that learns.  A frozen VGG-19
describes three images:

    content image c:   P = its activations at conv4_2                 (what is where)
    style image s:     A^l = Gram matrices at conv1_1 ... conv5_1     (which textures, colours)
    target x:          F(x), G^l(x) the same quantities for x

and x minimises (see ``losses`` for each term)

    L(x) = alpha * L_content(F(x), P) + beta * sum_l w_l L_style^l(G^l(x), A^l) + gamma * L_tv(x)

by gradient descent on its pixels: backward through the frozen network gives
dL/dx, and Adam or L-BFGS updates x.  P and A are computed once, without a graph.

Range: with Adam, x is clipped to [0, 1] (the range of a picture) after each
step.  L-BFGS is left unconstrained, as in Gatys et al.'s and jcjohnson's
implementations, and the result is clipped once at the end: moving x after an
L-BFGS step falsifies the step s_k its curvature pairs remember, and in
practice stalls it (the line search keeps proposing the step the clip undoes).

    from minicnn.style import style_transfer
    result = style_transfer(content, style, size=256, steps=300)   # HWC uint8 arrays in
    result.image           # (H, W, 3) uint8
    result.history[-1]     # {'step': 300, 'total': ..., 'content': ..., 'style': ..., 'tv': ...}
    result.pretrained      # False: random VGG-19 weights were used

Everything in the loop is minicnn tensors and ops, so with ``device="cuda"``
the same code runs on the GPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import manual_seed, no_grad, optim, rand
from ..backend import get_array_module
from .features import LAYER_NAMES, VGGFeatures, check_layers
from .images import image_to_tensor, resize_image, save_image, tensor_to_image
from .losses import content_loss, gram_matrix, style_loss, total_variation_loss

__all__ = ["style_transfer", "StyleTransferResult", "CONTENT_LAYER", "STYLE_LAYERS", "weights_message",
           "intermediate_path"]

CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


@dataclass
class StyleTransferResult:
    """What ``style_transfer`` returns.

    image: (H, W, 3) uint8, the optimised picture;
    history: one dict per step, {'step', 'total', 'content', 'style', 'tv', 'evaluations'}:
             the losses *before* that step's update, already multiplied by their weights,
             and how many forward/backward passes the step ran (L-BFGS line searches
             may run several);
    pretrained: True with real VGG-19 weights, False with the random-weights fallback;
    saved: paths written by ``save_every``.
    """

    image: object
    history: list = field(default_factory=list)
    pretrained: bool = False
    saved: list = field(default_factory=list)


def weights_message(pretrained, weights):
    """The line that says which VGG-19 weights are in use."""
    if pretrained:
        return f"VGG-19 weights: pretrained ImageNet weights from {os.fspath(weights)!r}"
    return ("VGG-19 weights: none given, using the RANDOM-weights fallback (untrained VGG-19, "
            "torchvision's initialisation): colours and textures transfer, object-level structure does not; "
            "pass weights=PATH (--weights) with converted torchvision weights for real results")


def intermediate_path(path, step):
    """OUT.png, step 50 -> OUT_step0050.png: where ``save_every`` writes."""
    stem, suffix = os.path.splitext(os.fspath(path))
    return f"{stem}_step{step:04d}{suffix or '.png'}"


def style_transfer(content, style, size=256, steps=300, optimizer="lbfgs", content_weight=1.0,
                   style_weight=1e6, tv_weight=0.0, init="content", weights=None, device="cpu", seed=None,
                   lr=None, content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS, style_layer_weights=None,
                   callback=None, save_every=None, save_path=None, extractor=None, log=print):
    """Optimise a picture to have ``content``'s content and ``style``'s style.

    Args:
        content, style: (H, W, 3) uint8 RGB arrays (``images.load_image``).
        size: the longer side of the result in pixels (the content image is
            resized to it, aspect kept; the style image too); None keeps the content's size.
        steps: optimisation steps: Adam updates, or L-BFGS iterations (each one
            closure evaluation plus what its strong-Wolfe line search needs).
        optimizer: "lbfgs" (L-BFGS, lr 1, strong Wolfe line search, as in Gatys
            et al.) or "adam" (lr 0.02 by default; images live in [0, 1]).
        content_weight, style_weight, tv_weight: alpha, beta, gamma of the total loss.
        init: "content" starts from the content image, "noise" from uniform noise in [0, 1].
        weights: path to VGG-19 weights converted from torchvision; None uses
            random weights (the fallback), and says so.
        device: "cpu", "cuda", "cuda:N".
        seed: seeds minicnn's generator (random weights, noise init) for a reproducible run.
        lr: the optimiser's learning rate (default: 1 for L-BFGS, 0.02 for Adam).
        content_layer, style_layers, style_layer_weights: where the losses are measured;
            the style layer weights w_l default to 1 / len(style_layers).
        callback: called as ``callback(step, losses, target)`` after each step
            (losses: that step's history entry; target: the (1, 3, H, W) tensor).
        save_every, save_path: every ``save_every`` steps write the current
            picture to ``intermediate_path(save_path, step)``.
        extractor: a ``VGGFeatures`` to use (its layers must include the ones
            needed); by default one is built from ``weights``.
        log: where the line saying which weights are used goes (``print``; None: silent).

    Returns a ``StyleTransferResult`` (image, history, pretrained, saved).
    """
    steps = _positive_int("steps", steps)
    optimizer = optimizer.lower()
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"style_transfer: optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"style_transfer: init must be 'content' or 'noise', got {init!r}")
    if save_every is not None:
        save_every = _positive_int("save_every", save_every)
        if save_path is None:
            raise ValueError("style_transfer: save_every needs save_path (where to write the pictures)")
    content_layer, = check_layers([content_layer])
    style_layers = check_layers(style_layers)
    if style_layer_weights is None:
        style_layer_weights = {name: 1.0 / len(style_layers) for name in style_layers}
    else:
        check_layers(list(style_layer_weights))
    if seed is not None:
        manual_seed(seed)

    # ---- the frozen network
    layers = tuple(dict.fromkeys(style_layers + (content_layer,)))
    if extractor is None:
        extractor = VGGFeatures(layers, weights=weights)
    extractor = extractor.to(device)
    if log is not None:
        log(weights_message(extractor.pretrained, weights))

    # ---- the images, as (1, 3, H, W) tensors in [0, 1]
    if size is not None:
        content = resize_image(content, size)
        style = resize_image(style, size)
    for name, image in (("content", content), ("style", style)):
        if min(image.shape[:2]) < extractor.min_size:
            raise ValueError(
                f"style_transfer: the {name} image is {image.shape[0]}x{image.shape[1]} pixels, too small for "
                f"layers up to {max(layers, key=LAYER_NAMES.index)}: each side must be "
                f"at least {extractor.min_size} pixels (size={size})")
    content_t = image_to_tensor(content, device)
    style_t = image_to_tensor(style, device)

    # ---- the fixed targets: P (content activations) and A^l (style Gram matrices)
    with no_grad():
        content_target = extractor(content_t)[content_layer]
        style_features = extractor(style_t)
        style_grams = {name: gram_matrix(style_features[name]) for name in style_layers}
        del style_features

    # ---- the picture being optimised
    if init == "content":
        target = content_t.clone()
    else:
        target = rand(*content_t.shape, device=device)
    target.requires_grad_(True)
    xp = get_array_module(target.data)

    def loss_terms():
        acts = extractor(target)
        terms = {"content": content_loss(acts[content_layer], content_target) * content_weight,
                 "style": style_loss(acts, style_grams, style_layer_weights) * style_weight}
        total = terms["content"] + terms["style"]
        if tv_weight:
            terms["tv"] = total_variation_loss(target) * tv_weight
            total = total + terms["tv"]
        return total, terms

    evaluations = []   # the losses seen by each closure call of the current step
    computed = [0]     # forward/backward passes actually run in the current step
    recent = []        # (picture, loss, gradient, losses) of the last few passes

    def closure():
        """The loss at the current picture, with its gradient in target.grad.

        L-BFGS's step() starts by evaluating the point its previous line search
        accepted, which was just computed: a pass at a picture seen among the
        last few is taken from ``recent`` instead of being recomputed.
        """
        for picture, total, grad, losses in recent:
            if xp.array_equal(picture, target.data):
                target.grad = grad.clone()
                evaluations.append(losses)
                return total
        opt.zero_grad()
        total, terms = loss_terms()
        total.backward()
        losses = {"total": total.item(), "content": terms["content"].item(), "style": terms["style"].item(),
                  "tv": terms["tv"].item() if "tv" in terms else 0.0}
        evaluations.append(losses)
        computed[0] += 1
        if optimizer == "lbfgs":
            recent.append((target.data.copy(), total.detach(), target.grad.clone(), losses))
            del recent[:-3]
        return total

    if optimizer == "lbfgs":
        # One step() = one L-BFGS iteration; max_eval must leave room for the line search
        # (its default, max_iter * 5 // 4 = 1, would leave none and freeze the picture).
        opt = optim.LBFGS([target], lr=1.0 if lr is None else lr, max_iter=1, max_eval=20, history_size=50,
                          line_search_fn="strong_wolfe")
    else:
        opt = optim.Adam([target], lr=0.02 if lr is None else lr)

    result = StyleTransferResult(image=None, pretrained=extractor.pretrained)
    for step in range(1, steps + 1):
        evaluations.clear()
        computed[0] = 0
        if optimizer == "lbfgs":
            opt.step(closure)        # one L-BFGS iteration (its line search may evaluate again)
        else:
            closure()
            opt.step()
            with no_grad():          # projected gradient: stay a picture
                target.data[...] = target.data.clip(0.0, 1.0)
        entry = {"step": step, **evaluations[0], "evaluations": computed[0]}
        result.history.append(entry)
        if callback is not None:
            callback(step, entry, target)
        if save_every is not None and step % save_every == 0:
            result.saved.append(save_image(tensor_to_image(target), intermediate_path(save_path, step)))

    result.image = tensor_to_image(target)
    target.grad = None
    recent.clear()
    return result


def _positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
    return int(value)

