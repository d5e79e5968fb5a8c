"""Kernel micro-benchmarks (im2col/col2im, pooling, batch norm) per implementation, and JIT start-up.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kernels.py \
        [--suite kernels|startup] [--rounds 7] [--json out.json]

A thin script around ``minicnn bench --suite kernels``, which takes the same options;
``--device cuda`` runs the GPU suite (see ``benchmarks/gpu_check.sh`` for the whole GPU check).
"""
import argparse
import sys

from minicnn import bench

if __name__ == "__main__":
    parser = bench.add_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.set_defaults(suite="kernels")
    sys.exit(bench.run(parser.parse_args()))
