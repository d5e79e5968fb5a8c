"""The main job, timed: `minicnn train` (LeNet-5 on the MNIST sample) next to the same recipe in PyTorch.

For each seed, in one run and alternating between the two:

* **minicnn cold**: ``python -m minicnn train --seed S`` in a fresh process with
  empty caches (``MINICNN_CACHE`` and ``NUMBA_CACHE_DIR`` pointed at new
  folders): interpreter start, imports, parsing the MNIST CSV, any kernel
  compilation, training, validation and the held-out test, all included;
* **minicnn warm**: the same command again, caches now filled;
* **PyTorch**: the same recipe written in plain torch (this file, ``--torch-worker``),
  in a fresh process, with ``--torch-threads`` intra-op threads (default 1,
  as ``minicnn train`` uses one BLAS thread; 0 for PyTorch's default): the same 3,600 / 400 / 1,000 images (minicnn's
  fixed split and validation carve), LeNet-5 with ReLU and max pooling, the
  same augmentation (rotation +-10 degrees and shift +-10%, bilinear, via
  ``affine_grid``/``grid_sample``), normalisation, SGD (lr 0.05, momentum 0.9,
  weight decay 5e-4), a cosine schedule stepped per batch, batch 64, the same
  epochs, validation each epoch, the best model by validation loss tested.

Reported per run: held-out accuracy, wall time of the whole process, the time
of the training loop alone and its images/s; the ratio minicnn / PyTorch of
the two times, measured in the same run.

    python benchmarks/bench_main_job.py [--seeds 0 1 2 3 4] [--epochs N] [--json out.json] [--no-torch]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

try:
    from common import machine_description  # run as a script from benchmarks/
except ImportError:
    from benchmarks.common import machine_description


# ---------------------------------------------------------------------- minicnn
def run_minicnn(seed, epochs, workdir, env):
    out = os.path.join(workdir, f"minicnn-seed{seed}-{time.monotonic_ns()}")
    cmd = [sys.executable, "-m", "minicnn", "train", "--seed", str(seed), "--output-dir", out, "--progress", "none"]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"minicnn train failed:\n{result.stdout}\n{result.stderr}")
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)["history"]
    images = sum(row["images_per_s"] * row["time_s"] for row in history)
    train_time = sum(row["time_s"] for row in history)
    return {
        "accuracy": results["test"]["accuracy"],
        "wall_s": wall,
        "fit_s": results["fit_time_s"],
        "train_s": train_time,
        "images_per_s": images / train_time,
        "epochs": len(history),
    }


# ---------------------------------------------------------------------- PyTorch
def torch_worker(seed, epochs, threads):
    """The main job's recipe in plain PyTorch; prints a JSON line with the figures."""
    start_process = time.perf_counter()
    import math

    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from minicnn import data  # only for the images: the same fixed split and validation carve

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    full, test = data.MNISTSample(train=True), data.MNISTSample(train=False)
    n_val = int(round(0.1 * len(full)))
    train_part, val_part = data.random_split(full, [len(full) - n_val, n_val], seed=seed)

    def arrays(dataset):
        x, y = dataset.__getitems__(np.arange(len(dataset)))
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y))

    (xtr, ytr), (xva, yva), (xte, yte) = arrays(train_part), arrays(val_part), arrays(test)
    mean, std = 0.1307, 0.3081

    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    batch = 64
    steps = math.ceil(len(xtr) / batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
    gen = torch.Generator().manual_seed(seed)

    def augment(x):
        n = len(x)
        angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
        shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.1 * 2  # 10% of the width, in [-1, 1] units
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, x.shape, align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def evaluate(x, y):
        model.eval()
        with torch.no_grad():
            out = model((x - mean) / std)
            loss = F.cross_entropy(out, y).item()
            acc = (out.argmax(1) == y).float().mean().item()
        model.train()
        return loss, acc

    best_loss, best_state, train_time, seen = float("inf"), None, 0.0, 0
    start_fit = time.perf_counter()
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), batch):
            idx = order[i:i + batch]
            xb = (augment(xtr[idx]) - mean) / std
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
        train_time += time.perf_counter() - t0
        val_loss, _ = evaluate(xva, yva)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    fit = time.perf_counter() - start_fit
    model.load_state_dict(best_state)
    _, acc = evaluate(xte, yte)
    print(json.dumps({"accuracy": acc, "fit_s": fit, "train_s": train_time, "images_per_s": seen / train_time,
                      "in_process_s": time.perf_counter() - start_process, "epochs": epochs}))


def run_torch(seed, epochs, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--seeds", str(seed), "--epochs", str(epochs),
           "--torch-threads", str(threads)]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"PyTorch worker failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall_s"] = wall
    return figures


# ---------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (default: minicnn train's)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch intra-op threads (default 1, as `minicnn train` uses one BLAS thread; "
                             "0: PyTorch's default, one per core)")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm minicnn run")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs is None:
        from minicnn.cli import TRAIN_DEFAULTS

        args.epochs = TRAIN_DEFAULTS["epochs"]
    if args.torch_worker:
        torch_worker(args.seeds[0], args.epochs, args.torch_threads)
        return 0
    have_torch = not args.no_torch
    if have_torch:
        try:
            import torch  # noqa: F401  (only to know whether the PyTorch column can run)
        except ImportError:
            print("PyTorch is not installed: no PyTorch column")
            have_torch = False

    machine = machine_description()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; BLAS {machine['blas']}")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for seed in args.seeds:
            cold_env = dict(os.environ, MINICNN_CACHE=tempfile.mkdtemp(dir=workdir),
                            NUMBA_CACHE_DIR=tempfile.mkdtemp(dir=workdir))
            row = {"seed": seed, "cold": run_minicnn(seed, args.epochs, workdir, cold_env)}
            if have_torch:
                row["torch"] = run_torch(seed, args.epochs, args.torch_threads)
            if not args.no_warm:
                row["warm"] = run_minicnn(seed, args.epochs, workdir, cold_env)
            rows.append(row)
            report(row)
    summary = {}
    for kind in ("cold", "warm", "torch"):
        runs = [r[kind] for r in rows if kind in r]
        if runs:
            summary[kind] = {key: statistics.median(r[key] for r in runs)
                             for key in ("accuracy", "wall_s", "train_s", "images_per_s")}
            summary[kind]["min_accuracy"] = min(r["accuracy"] for r in runs)
    print("\nmedians over seeds:")
    for kind, s in summary.items():
        print(f"  {kind:<5} accuracy {100 * s['accuracy']:.2f}% (min {100 * s['min_accuracy']:.2f}%), "
              f"wall {s['wall_s']:.1f} s, training loop {s['train_s']:.1f} s, {s['images_per_s']:,.0f} img/s")
    if "torch" in summary:
        ratios = [r["cold"]["train_s"] / r["torch"]["train_s"] for r in rows]
        print(f"  minicnn / PyTorch training-loop time: median {statistics.median(ratios):.2f}x "
              f"(per seed: {', '.join(f'{x:.2f}x' for x in ratios)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "epochs": args.epochs, "torch_threads": args.torch_threads, "runs": rows,
                       "summary": summary}, f, indent=2)
    return 0


def report(row):
    parts = [f"seed {row['seed']}:"]
    for kind in ("cold", "warm", "torch"):
        if kind in row:
            r = row[kind]
            parts.append(f"{'minicnn ' + kind if kind != 'torch' else 'PyTorch'} {100 * r['accuracy']:.2f}% "
                         f"wall {r['wall_s']:.1f} s (loop {r['train_s']:.1f} s, {r['images_per_s']:,.0f} img/s)")
    if "torch" in row:
        parts.append(f"ratio {row['cold']['train_s'] / row['torch']['train_s']:.2f}x")
    print("  ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
