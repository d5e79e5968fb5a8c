"""``python -m minicnn.bench [options]``: the same as ``minicnn bench``."""
import argparse
import sys

from . import add_arguments, run

sys.exit(run(add_arguments(argparse.ArgumentParser(prog="python -m minicnn.bench")).parse_args()))
