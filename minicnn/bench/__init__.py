"""``minicnn bench``: how fast minicnn is, and where the time goes.

    minicnn bench                          # kernels, training steps, start-up
    minicnn bench --suite training --models lenet5 --rounds 7 --json out.json --plot out.png

Suites:

* ``kernels``: every hot-path kernel, per implementation (NumPy reference,
  Numba, CuPy when a GPU is there) on the benchmark networks' shapes
  (``minicnn.bench.kernels``);
* ``training``: one training step and one inference pass of LeNet-5 (batch 64
  and 256), a VGG-style CIFAR net and ResNet-20 (batch 128), in images/s, with a
  PyTorch column and the ratio minicnn / PyTorch from the same run when
  PyTorch is importable (``minicnn.bench.training``);
* ``startup``: the first step's extra cost with a cold and a warm Numba cache
  (``minicnn.bench.startup``).

Everything runs in turns and reports medians (``minicnn.bench.timing``);
results go to the console as Markdown, and optionally to JSON and a PNG chart.
Unset ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` for the run if your shell sets
them: the report prints the BLAS kernel that ran.
"""
from __future__ import annotations

import os

from .models import NETWORKS

SUITES = ("kernels", "training", "startup")


def add_arguments(parser):
    """Add ``minicnn bench``'s options to an ``argparse`` parser."""
    parser.add_argument("--suite", choices=SUITES + ("all",), default="all", help="what to measure (default: all)")
    parser.add_argument("--models", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS),
                        help="networks of the training suite (default: all three)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per figure (median; default 7)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for NumPy's BLAS and PyTorch (default: all cores)")
    parser.add_argument("--no-torch", action="store_true", help="leave out the PyTorch column")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown")
    parser.add_argument("--plot", metavar="PATH", help="write a bar chart of images/s (needs matplotlib)")
    return parser


def run(args):
    """Run the suites chosen in ``args`` (from ``add_arguments``); returns an exit status."""
    from .. import kernels
    from .machine import machine_description, set_threads
    from .report import markdown, plot, write_json
    from .training import torch_available

    if args.rounds < 1:
        print("minicnn bench: --rounds must be at least 1")
        return 2
    set_threads(args.threads)
    suites = SUITES if args.suite == "all" else (args.suite,)
    with_torch = not args.no_torch and torch_available()
    results = {
        "machine": machine_description(args.threads),
        "kernels_setting": kernels.current(),
        "rounds": args.rounds,
    }
    print(f"machine: {results['machine']}")
    if "kernels" in suites:
        from .kernels import run_kernels

        results["kernels"] = run_kernels(args.rounds)
    if "training" in suites:
        from .training import run_training

        results["training"] = run_training(args.models, args.rounds, with_torch)
    if "startup" in suites:
        from .startup import run_startup

        results["startup"] = run_startup()
    table = markdown(results)
    print()
    print(table)
    if args.json:
        write_json(results, args.json)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.plot and not plot(results, args.plot):
        print("minicnn bench: no chart written (matplotlib missing or no training figures)")
    return 0
