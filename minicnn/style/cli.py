"""The ``minicnn style`` and ``minicnn dream`` commands.

    minicnn style CONTENT STYLE -o OUT.png --size 256 --steps 300 --optimizer lbfgs|adam \\
        --content-weight A --style-weight B --tv-weight T --init content|noise \\
        --weights PATH --device cpu|cuda --seed S --save-every K
    minicnn dream IMAGE -o OUT.png --layers conv4_2,... --octaves 4 --octave-scale 1.4 \\
        --steps 20 --lr 0.02 --jitter 32 --objective mean|l2 --size 256

An image argument is a file path, or ``sample:china`` / ``sample:flower`` for
scikit-learn's sample photographs.  ``minicnn.cli`` wires each command as
``add_*_arguments(subparser)`` to declare the options and ``run_*(args)`` to
run it (returns the exit status).
"""
from __future__ import annotations

import argparse
import sys

from .dream import deep_dream
from .features import LAYER_NAMES
from .images import read_image_argument, save_image, tensor_to_image
from .transfer import CONTENT_LAYER, STYLE_LAYERS, intermediate_path, style_transfer

__all__ = ["add_style_arguments", "run_style", "add_dream_arguments", "run_dream"]


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _progress(total, desc, disable=False):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, disable=disable, dynamic_ncols=True)


# ---------------------------------------------------------------- style
def add_style_arguments(parser):
    """Declare the options of ``minicnn style`` on ``parser`` (an argparse (sub)parser)."""
    parser.add_argument("content", help="content image: a path, or sample:china / sample:flower")
    parser.add_argument("style", help="style image: a path, or sample:china / sample:flower")
    parser.add_argument("-o", "--output", required=True, help="where to write the result (.png, .jpg, ...)")
    parser.add_argument("--size", type=_positive(int), default=256,
                        help="longer side of the result in pixels (default 256)")
    parser.add_argument("--steps", type=_positive(int), default=300,
                        help="optimisation steps: L-BFGS iterations or Adam updates (default 300)")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    parser.add_argument("--lr", type=_positive(float), default=None,
                        help="learning rate (default 1 for L-BFGS, 0.02 for Adam)")
    parser.add_argument("--content-weight", type=float, default=1.0, help="alpha (default 1)")
    parser.add_argument("--style-weight", type=float, default=1e6, help="beta (default 1e6)")
    parser.add_argument("--tv-weight", type=float, default=0.0, help="total-variation weight (default 0)")
    parser.add_argument("--init", choices=("content", "noise"), default="content",
                        help="start from the content image or from noise")
    parser.add_argument("--content-layer", default=CONTENT_LAYER, help=f"default {CONTENT_LAYER}")
    parser.add_argument("--style-layers", default=",".join(STYLE_LAYERS),
                        help=f"comma-separated (default {','.join(STYLE_LAYERS)}); valid: {', '.join(LAYER_NAMES)}")
    _add_common_arguments(parser, "also write the picture every K steps (OUT_step0050.png, ...)")
    return parser


def _add_common_arguments(parser, save_every_help):
    """The options ``style`` and ``dream`` share: weights, device, seed, snapshots, quiet."""
    parser.add_argument("--weights", default=None,
                        help="VGG-19 weights converted from torchvision (python -m minicnn.models.convert); "
                             "without: random weights (fallback)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--save-every", type=_positive(int), default=None, metavar="K", help=save_every_help)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_style(args):
    """Run ``minicnn style`` with parsed ``args``; returns 0."""
    content = read_image_argument(args.content)
    style = read_image_argument(args.style)
    bar = None

    def show(step, losses, target):
        nonlocal bar
        if bar is None:   # created here, so the line about the weights comes before it
            bar = _progress(args.steps, "style", disable=args.quiet)
        bar.set_postfix(total=f"{losses['total']:.4g}", content=f"{losses['content']:.4g}",
                        style=f"{losses['style']:.4g}", tv=f"{losses['tv']:.3g}", refresh=False)
        bar.update(1)

    try:
        result = style_transfer(
            content, style, size=args.size, steps=args.steps, optimizer=args.optimizer, lr=args.lr,
            content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
            init=args.init, content_layer=args.content_layer, style_layers=args.style_layers.split(","),
            weights=args.weights, device=args.device, seed=args.seed, callback=show,
            save_every=args.save_every, save_path=args.output if args.save_every else None,
            log=lambda line: print(line, file=sys.stderr))
    finally:
        if bar is not None:
            bar.close()
    save_image(result.image, args.output)
    first, last = result.history[0], result.history[-1]
    print(f"wrote {args.output} ({result.image.shape[1]}x{result.image.shape[0]}); "
          f"style loss {first['style']:.4g} -> {last['style']:.4g}, content loss {first['content']:.4g} -> "
          f"{last['content']:.4g} ({'pretrained' if result.pretrained else 'RANDOM'} VGG-19 weights)")
    for path in result.saved:
        print(f"  intermediate: {path}")
    return 0


# ---------------------------------------------------------------- dream
def add_dream_arguments(parser):
    """Declare the options of ``minicnn dream`` on ``parser``."""
    parser.add_argument("image", help="input image: a path, or sample:china / sample:flower")
    parser.add_argument("-o", "--output", required=True, help="where to write the result")
    parser.add_argument("--layers", default="conv4_2",
                        help=f"comma-separated layers to amplify (default conv4_2); valid: {', '.join(LAYER_NAMES)}")
    parser.add_argument("--octaves", type=_positive(int), default=4, help="pyramid levels (default 4)")
    parser.add_argument("--octave-scale", type=float, default=1.4, help="size ratio between octaves (default 1.4)")
    parser.add_argument("--steps", type=_positive(int), default=20, help="ascent steps per octave (default 20)")
    parser.add_argument("--lr", type=_positive(float), default=0.02,
                        help="step size (mean pixel change per step, pixels in [0, 1]; default 0.02)")
    parser.add_argument("--jitter", type=int, default=32, help="largest random roll in pixels (default 32)")
    parser.add_argument("--objective", choices=("mean", "l2"), default="mean")
    parser.add_argument("--size", type=_positive(int), default=None,
                        help="resize the input so its longer side is this many pixels first")
    _add_common_arguments(parser, "also write the picture every K steps (of all octaves together)")
    return parser


def run_dream(args):
    """Run ``minicnn dream`` with parsed ``args``; returns 0."""
    image = read_image_argument(args.image, args.size)
    bar, saved = None, []

    def show(entry, x):
        nonlocal bar
        if bar is None:
            bar = _progress(args.octaves * args.steps, "dream", disable=args.quiet)
        bar.set_postfix(octave=f"{entry['octave']}/{args.octaves}", size="x".join(map(str, entry["size"])),
                        objective=f"{entry['objective']:.4g}", refresh=False)
        bar.update(1)
        if args.save_every and bar.n % args.save_every == 0:
            saved.append(save_image(tensor_to_image(x), intermediate_path(args.output, bar.n)))

    try:
        result = deep_dream(image, layers=args.layers, octaves=args.octaves, octave_scale=args.octave_scale,
                            steps=args.steps, lr=args.lr, jitter=args.jitter, objective=args.objective,
                            weights=args.weights, device=args.device, seed=args.seed, callback=show,
                            log=lambda line: print(line, file=sys.stderr))
    finally:
        if bar is not None:
            bar.close()
    save_image(result.image, args.output)
    print(f"wrote {args.output} ({result.image.shape[1]}x{result.image.shape[0]}); objective "
          f"{result.history[0]['objective']:.4g} -> {result.history[-1]['objective']:.4g} "
          f"({'pretrained' if result.pretrained else 'RANDOM'} VGG-19 weights)")
    for path in saved:
        print(f"  intermediate: {path}")
    return 0
