"""``minicnn bench``: how fast minicnn is, and where the time goes.

    minicnn bench                          # kernels, training steps, start-up
    minicnn bench --suite training --models lenet5 --rounds 7 --json out.json --plot out.png
    minicnn bench --device cuda            # the same on the GPU, beside PyTorch on the GPU and the CPU

Suites:

* ``kernels``: every hot-path kernel, per implementation (NumPy reference and
  Numba; on ``--device cuda`` the CuPy kernel and the reference on the GPU
  beside the CPU's fastest) on the benchmark networks' shapes
  (``minicnn.bench.kernels``);
* ``training``: one training step and one inference pass of LeNet-5 (batch 64
  and 256), a VGG-style CIFAR net and ResNet-20 (batch 128), in images/s, with a
  PyTorch column and the ratio minicnn / PyTorch from the same run when
  PyTorch is importable (on ``--device cuda``: PyTorch with CUDA and cuDNN,
  and minicnn on the CPU for the GPU-over-CPU speed-up;
  ``minicnn.bench.training``);
* ``startup``: the first step's extra cost with a cold and a warm Numba cache
  (``minicnn.bench.startup``; CPU only).

Everything runs in turns and reports medians (``minicnn.bench.timing``; on the
GPU every clock read follows a device synchronize); results go to the console
as Markdown, and optionally to JSON and a PNG chart.
Unset ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` for the run if your shell sets
them: the report prints the BLAS kernel that ran.
"""
from __future__ import annotations

import os
import sys

from .models import NETWORKS

SUITES = ("kernels", "training", "startup")
GPU_SUITES = ("kernels", "training")  # what "all" means on --device cuda (start-up is Numba's, on the CPU)
DEVICES = ("cpu", "cuda")


def add_arguments(parser):
    """Add ``minicnn bench``'s options to an ``argparse`` parser."""
    parser.add_argument("--suite", choices=SUITES + ("all",), default="all", help="what to measure (default: all)")
    parser.add_argument("--models", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS),
                        help="networks of the training suite (default: all three)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where minicnn (and PyTorch) run: cpu, or cuda for the GPU suites (default: cpu)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per figure (median; default 7)")
    parser.add_argument("--cpu-rounds", type=int, metavar="N",
                        help="with --device cuda: rounds in which minicnn also runs on the CPU, for the "
                             "GPU-over-CPU speed-up (default: as --rounds; 0 leaves the CPU out)")
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
    from .training import torch_available, torch_cuda_reason

    device = args.device
    cpu_rounds = args.rounds if args.cpu_rounds is None else args.cpu_rounds
    if args.rounds < 1:
        print("minicnn bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if cpu_rounds < 0:
        print("minicnn bench: --cpu-rounds must be 0 or more", file=sys.stderr)
        return 2
    if device == "cuda":
        from .. import cuda

        reason = cuda.unavailable_reason()  # CuPy missing, or CuPy without a device
        if reason is not None:
            print(f"minicnn bench: --device cuda: {reason}", file=sys.stderr)
            return 2
        if args.suite == "startup":
            print("minicnn bench: the startup suite times Numba's compilation on the CPU; "
                  "run it without --device cuda", file=sys.stderr)
            return 2
    set_threads(args.threads)
    if args.suite != "all":
        suites = (args.suite,)
    else:
        suites = GPU_SUITES if device == "cuda" else SUITES
    results = {
        "machine": machine_description(args.threads, device),
        "device": device,
        "kernels_setting": kernels.current(),
        "rounds": args.rounds,
    }
    if args.no_torch:
        with_torch = False
    elif device == "cuda":
        torch_reason = torch_cuda_reason()
        with_torch = torch_reason is None
        if torch_reason is not None:
            results["torch_note"] = f"no PyTorch column: {torch_reason}"
    else:
        with_torch = torch_available()
    if device == "cuda":
        results["cpu_rounds"] = cpu_rounds
        if with_torch:
            from .training import TORCH_GPU_SETTINGS

            results["torch_gpu_settings"] = {f"torch.backends.{k}": v for k, v in TORCH_GPU_SETTINGS.items()}
    print(f"machine: {results['machine']}")
    if "torch_note" in results:
        print(results["torch_note"])
    if "kernels" in suites:
        from .kernels import run_kernels

        results["kernels"] = run_kernels(args.rounds, device=device)
    if "training" in suites:
        from .training import run_training

        results["training"] = run_training(args.models, args.rounds, with_torch, device=device,
                                           cpu_rounds=cpu_rounds if device == "cuda" else 0)
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
