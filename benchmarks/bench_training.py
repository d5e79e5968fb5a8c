"""Training-step and inference benchmark (LeNet-5, VGG-style CIFAR net, ResNet-20) vs PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_training.py \
        [--models lenet5 resnet20] [--rounds 7] [--json out.json] [--plot out.png]

A thin script around ``minicnn bench --suite training``, which takes the same options;
``--device cuda`` runs the GPU suite (see ``benchmarks/gpu_check.sh`` for the whole GPU check).
"""
import argparse
import sys

from minicnn import bench

if __name__ == "__main__":
    parser = bench.add_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.set_defaults(suite="training")
    sys.exit(bench.run(parser.parse_args()))
