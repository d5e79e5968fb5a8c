"""Convert PyTorch weights to a file minicnn reads without PyTorch.

    python -m minicnn.models.convert resnet18-f37072fd.pth resnet18.npz
    python -m minicnn.models.convert in.pth out.npz --plain      # a plain numpy.savez archive

Run once where PyTorch is installed (it reads the ``.pth`` with
``torch.load(weights_only=True)``); afterwards ``load_weights(model,
"out.npz")`` needs only NumPy.  The output is a minicnn checkpoint
(``mc.save`` format: a zip of ``.npy`` arrays plus a JSON index, read by
``mc.load`` and by ``numpy.load(allow_pickle=False)``), holding the state
dict as an ``OrderedDict`` of arrays.  ``--plain`` writes a ``numpy.savez``
archive instead, whose members are named by the state-dict keys
(``numpy.load(path)["fc.weight"]``).  Any input ``load_weights`` reads is
accepted, so the script also turns a plain ``.npz`` into a checkpoint.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy

from ..serialization import save
from .weights import WeightsError, read_weights


def convert(source, destination, plain=False):
    """Read the state dict at ``source`` and write it to ``destination``; return the state dict."""
    state = read_weights(source)
    if plain:
        with open(destination, "wb") as f:  # a file object: savez would append ".npz" to a bare name
            numpy.savez(f, **state)
    else:
        save(state, destination)
    return state


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minicnn.models.convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="PyTorch .pth/.pt file (needs torch), .npz, or minicnn checkpoint")
    parser.add_argument("destination", help="output file (written in minicnn's checkpoint format)")
    parser.add_argument("--plain", action="store_true", help="write a plain numpy.savez archive keyed by name")
    args = parser.parse_args(argv)
    try:
        state = convert(args.source, args.destination, args.plain)
    except WeightsError as error:
        print(f"convert: {error}", file=sys.stderr)
        return 1
    count = sum(int(numpy.prod(a.shape)) for a in state.values())
    print(f"wrote {len(state)} arrays ({count:,} numbers) to {os.fspath(args.destination)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
