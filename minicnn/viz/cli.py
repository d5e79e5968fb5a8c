"""``minicnn viz``: pictures of a trained network from the command line.

    minicnn viz features  --checkpoint runs/lenet5/best.pth --image digit.png -o maps.png
    minicnn viz filters   --checkpoint runs/lenet5/best.pth -o filters.png
    minicnn viz saliency  --checkpoint ... --image digit.png [--target 3] -o saliency.png
    minicnn viz gradcam   --checkpoint ... --image digit.png [--layer features.3] -o gradcam.png
    minicnn viz occlusion --checkpoint ... --image digit.png [--size 6 --stride 2] -o occlusion.png
    minicnn viz filter-max --checkpoint ... --layer features.3 --filter 5 -o filter5.png

``add_viz_arguments(parser)`` adds these arguments to a (sub)parser and
``run_viz(args)`` runs the command; errors (an unknown layer, a class out of
range, a missing file) print one line and give exit status 2.

The checkpoint is one written by ``minicnn train`` (the Trainer's ``last.pth``
or ``best.pth``): the weights under ``"model"``, and under ``"info"`` the
model's name and arguments (``"model"``, ``"model_kwargs"``), the input shape
(``"input_shape"``) and the normalisation applied to the batches in training
(``"mean"``, ``"std"``, ``"normalize"``).  ``load_model`` rebuilds the model
with ``minicnn.models.get_model`` and attaches that normalisation as a forward
pre-hook, so the model takes images in [0, 1] as image files give them, and
the pictures (and the gradients of the saliency map) are about those pixels.
"""
from __future__ import annotations

import sys

import numpy as np

from .. import nn
from ..data.images import load_image  # noqa: F401  (re-exported for the CLI)
from . import attribution, features
from ._common import expected_input_shape, first_layer, layer_names

VIZ_COMMANDS = ("features", "filters", "saliency", "gradcam", "occlusion", "filter-max")
NEEDS_IMAGE = ("features", "saliency", "gradcam", "occlusion")


def add_viz_arguments(parser):
    """Add the arguments of ``minicnn viz`` to ``parser`` (an ``argparse`` parser or subparser)."""
    parser.add_argument("what", choices=VIZ_COMMANDS, help="which picture: " + ", ".join(VIZ_COMMANDS))
    parser.add_argument("--checkpoint", required=True, help="a checkpoint written by `minicnn train`")
    parser.add_argument("--image", help="image file (PNG, JPEG, ... or .npy (C, H, W)); needed by "
                                        + ", ".join(NEEDS_IMAGE) + "; converted to the model's channels and size")
    parser.add_argument("--layer", action="append", metavar="NAME",
                        help="layer name as in model.named_modules() (repeat for several feature-map layers); "
                             "defaults: every Conv2d (features), the first Conv2d (filters, filter-max), "
                             "the last Conv2d (gradcam)")
    parser.add_argument("--target", type=int, help="class index (default: the predicted class)")
    parser.add_argument("--filter", type=int, default=0, help="filter-max: which filter (output channel) of --layer")
    parser.add_argument("--steps", type=int, default=40, help="filter-max: gradient-ascent steps")
    parser.add_argument("--size", type=int, default=8, help="occlusion: side of the grey square, in pixels")
    parser.add_argument("--stride", type=int, help="occlusion: step of the square (default: size // 2)")
    parser.add_argument("--fill", type=float, default=0.5,
                        help="occlusion: value of the square's pixels in [0, 1] "
                             "(0.5: grey; 0: black, MNIST's background)")
    parser.add_argument("--invert", default="auto", choices=["auto", "yes", "no"],
                        help="grey images: invert to light-on-dark as in MNIST (auto: when the image is mostly light)")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    return parser


def run_viz(args):
    """Run ``minicnn viz`` with parsed ``args``; returns the exit status."""
    try:
        written = _run(args)
    except (ValueError, FileNotFoundError, ImportError, OSError) as error:
        print(f"minicnn viz {args.what}: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


def _run(args):
    model, info = load_model(args.checkpoint)
    layers = args.layer or []
    if args.what in ("gradcam", "filters", "filter-max") and len(layers) > 1:
        raise ValueError(f"--layer takes one layer for {args.what}, got {len(layers)}: {', '.join(layers)}")
    layer = layers[0] if layers else None
    image = None
    if args.what in NEEDS_IMAGE:
        if args.image is None:
            raise ValueError(f"--image is needed for {args.what}")
        image = load_image(args.image, _input_shape(model, info), args.invert)
    out = args.output
    if args.what == "features":
        features.plot_feature_maps(model, image, layers or layer_names(model, nn.Conv2d), out)
    elif args.what == "filters":
        features.plot_filters(model, out, layer=layer)
    elif args.what == "saliency":
        attribution.saliency_map(model, image, target=args.target, path=out)
    elif args.what == "gradcam":
        attribution.grad_cam(model, image, target=args.target, layer=layer, path=out)
    elif args.what == "occlusion":
        attribution.occlusion_sensitivity(model, image, target=args.target, size=args.size, stride=args.stride,
                                          fill=args.fill, path=out)
    else:  # filter-max
        layer = layer or first_layer(model, nn.Conv2d)[0]
        features.visualize_filter(model, layer, args.filter, steps=args.steps, shape=_input_shape(model, info),
                                  path=out)
    return out


# ------------------------------------------------------------ checkpoint and image
def load_model(path):
    """``(model, info)`` from a ``minicnn train`` checkpoint, the model taking images in [0, 1].

    The model is rebuilt by name (``minicnn.models.get_model(info["model"],
    **info["model_kwargs"])``) and its weights loaded; when the training
    batches were normalised (``info["normalize"]``, default True, with
    ``info["mean"]`` and ``info["std"]`` per channel), a forward pre-hook
    applies ``(x - mean) / std`` to every input.
    """
    from .. import models
    from ..autograd.tensor import Tensor
    from ..train import load_checkpoint

    checkpoint = load_checkpoint(str(path))
    info = checkpoint.get("info") if isinstance(checkpoint, dict) else None
    if not isinstance(info, dict) or "model" not in info or "model" not in checkpoint:
        raise ValueError(f"{path} does not record which model it holds (it was not written by `minicnn train`)")
    model = models.get_model(info["model"].replace("-", "_"), **dict(info.get("model_kwargs") or {}))
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        raise ValueError(f"{path}: the weights do not fit model {info['model']}: {error}") from None
    if info.get("normalize", True) and info.get("mean") is not None:
        mean = Tensor(np.asarray(info["mean"], dtype=np.float32).reshape(1, -1, 1, 1))
        std = Tensor(np.asarray(info["std"], dtype=np.float32).reshape(1, -1, 1, 1))
        model.register_forward_pre_hook(lambda module, args: ((args[0] - mean) / std, *args[1:]))
    return model, info


def _input_shape(model, info):
    """(C, H, W): the recorded input shape, else what the model's layers say."""
    shape = tuple(info.get("input_shape") or expected_input_shape(model))
    if None in shape:
        raise ValueError(f"the checkpoint does not record the input shape and the model does not fix it ({shape})")
    return shape


