"""Loader throughput with augmentation: images/s on 32x32x3 images at batch 128.

    pipeline: random horizontal flip + random crop 32 with padding 4 + random
    affine (+-15 degrees, translate 0.1, scale 0.9..1.1, bilinear), the
    vectorised ``transforms.batch`` forms applied to each collated batch

The dataset is CIFAR-sized (32 x 32 x 3 uint8, served as CHW float32 in
[0, 1]); its pixels are random, which costs the loader exactly what real
pixels cost.  Each configuration runs whole epochs; the figure is the median
over ``--repeats`` epochs.  The per-sample pipeline (the same transforms
applied image by image) is timed too, on fewer images, for comparison.

Target: at least 5x the CPU training throughput of ResNet-20, so that data is
never the bottleneck.  PyTorch trains ResNet-20 at about 530 images/s on this
machine and minicnn more slowly (docs/benchmarks.md), so 5 x PyTorch's figure,
>= 2,650 images/s, is a bar that covers both.

    python benchmarks/bench_data.py [--images 10000] [--repeats 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minicnn as mc
from minicnn import data
from minicnn.data import transforms as T

try:
    from common import machine_description, write_json  # run as a script from benchmarks/
except ImportError:
    from benchmarks.common import machine_description, write_json

RESNET20_TORCH_IMAGES_PER_S = 530.0  # PyTorch CPU training throughput of ResNet-20 measured on this machine
TARGET = 5 * RESNET20_TORCH_IMAGES_PER_S


def cifar_like(n, transform=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    return data.ImageArrayDataset(images, labels, transform=transform)


def images_per_second(loader, repeats):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = 0
        for x, y in loader:
            count += x.shape[0]
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    mc.manual_seed(0)

    machine = machine_description()
    print(f"machine : {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}")
    print(f"BLAS    : {machine['blas']}")
    print(f"workload: {args.images} images 32x32x3, batch {args.batch_size}, flip + crop(32, padding=4) + affine, "
          f"median of {args.repeats} epochs")

    batch_aug = T.batch.Compose([
        T.batch.RandomHorizontalFlip(),
        T.batch.RandomCrop(32, padding=4),
        T.batch.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    ])
    sample_aug = T.Compose([
        T.RandomHorizontalFlip(),
        T.RandomCrop(32, padding=4),
        T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    ])
    train = cifar_like(args.images)
    configs = {
        "no augmentation": data.DataLoader(train, args.batch_size, shuffle=True, seed=0),
        "batched augmentation": data.DataLoader(train, args.batch_size, shuffle=True, seed=0,
                                                batch_transform=batch_aug),
        "batched augmentation, prefetch=2": data.DataLoader(train, args.batch_size, shuffle=True, seed=0,
                                                            batch_transform=batch_aug, prefetch=2),
        "per-sample augmentation": data.DataLoader(cifar_like(max(args.images // 5, args.batch_size), sample_aug),
                                                   args.batch_size, shuffle=True, seed=0),
    }
    results = {"machine": machine, "images": args.images, "batch_size": args.batch_size, "repeats": args.repeats,
               "target_images_per_s": TARGET, "resnet20_torch_images_per_s": RESNET20_TORCH_IMAGES_PER_S,
               "loaders": {}}
    for name, loader in configs.items():
        next(iter(loader))  # warm up
        median, rates = images_per_second(loader, args.repeats)
        results["loaders"][name] = {"images_per_s": median, "runs": rates}
        print(f"{name:36s} {median:10,.0f} images/s")
    best = results["loaders"]["batched augmentation"]["images_per_s"]
    verdict = "meets" if best >= TARGET else "MISSES"
    print(f"target  : >= {TARGET:,.0f} images/s (5 x PyTorch's ~{RESNET20_TORCH_IMAGES_PER_S:.0f} images/s ResNet-20 "
          f"CPU training, itself faster than minicnn's): batched augmentation {verdict} it ({best / TARGET:.1f}x)")
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
