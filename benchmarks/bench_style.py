"""Style-transfer optimisation steps per second: minicnn next to PyTorch (when importable).

    python benchmarks/bench_style.py                    # 256x256, CPU
    python benchmarks/bench_style.py --size 128 --rounds 3 --json out.json
    python benchmarks/bench_style.py --device cuda      # minicnn on the GPU (PyTorch column on CUDA too)

One step is what ``minicnn.style.style_transfer`` does per Adam step: the
forward pass of the picture through a frozen VGG-19 up to conv5_1 (the
activations at conv1_1 conv2_1 conv3_1 conv4_1 conv4_2 conv5_1), the content
loss (conv4_2) and the style loss (Gram matrices at the five style layers),
backward to the picture only (no weight gradients), one Adam update and the
clip to [0, 1].  The PyTorch column runs the same algorithm: a torch.nn
VGG-19 in torchvision's layout holding *the same* random weights, the same
normalisation, losses and optimiser.

The two are timed in interleaved rounds (minicnn, torch, minicnn, torch, ...)
so that a noisy machine slows both alike; each figure is the median over
rounds of steps per second, and the ratio is taken in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_description, write_json  # noqa: E402

import minicnn as mc  # noqa: E402
from minicnn.style import VGGFeatures, content_loss, gram_matrix, style_loss  # noqa: E402
from minicnn.style.features import CONV_INDEX, IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from minicnn.models.vgg import CONFIGS  # noqa: E402
from minicnn.style.transfer import CONTENT_LAYER, STYLE_LAYERS  # noqa: E402

VGG19_LAYOUT = CONFIGS[19]

LAYERS = STYLE_LAYERS + (CONTENT_LAYER,)


def pictures(size, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(size=(1, 3, size, size)).astype(np.float32) for _ in range(2)]


# ---------------------------------------------------------------- minicnn
def minicnn_stepper(extractor, content, style, device, style_weight=1e6, lr=0.02):
    with mc.no_grad():
        content_target = extractor(mc.tensor(content, device=device))[CONTENT_LAYER]
        style_grams = {k: gram_matrix(v) for k, v in extractor(mc.tensor(style, device=device)).items()
                       if k in STYLE_LAYERS}
    target = mc.tensor(content, device=device, requires_grad=True)
    opt = mc.optim.Adam([target], lr=lr)
    weights = {name: 1.0 / len(STYLE_LAYERS) for name in STYLE_LAYERS}

    def step():
        opt.zero_grad()
        acts = extractor(target)
        loss = content_loss(acts[CONTENT_LAYER], content_target) + style_loss(acts, style_grams, weights) * style_weight
        loss.backward()
        opt.step()
        with mc.no_grad():
            target.data[...] = target.data.clip(0.0, 1.0)
        return loss.item()

    return step


# ---------------------------------------------------------------- PyTorch
def torch_stepper(torch, extractor, content, style, device, style_weight=1e6, lr=0.02):
    tnn = torch.nn
    modules, channels = [], 3
    for item in VGG19_LAYOUT:  # torchvision's configuration "E", as minicnn's vgg19
        if item == "M":
            modules.append(tnn.MaxPool2d(2, 2))
        else:
            modules += [tnn.Conv2d(channels, item, 3, padding=1), tnn.ReLU(inplace=True)]
            channels = item
    last = max(CONV_INDEX[name] for name in LAYERS) + 1
    features = tnn.Sequential(*modules[:last + 1])
    state = {k[len("features."):]: torch.from_numpy(v.numpy()) for k, v in extractor.state_dict().items()
             if k.startswith("features.")}
    features.load_state_dict(state)                       # the same random weights as minicnn's
    features = features.to(device).eval().requires_grad_(False)
    taps = {CONV_INDEX[name] + 1: name for name in LAYERS}
    mean = torch.tensor(IMAGENET_MEAN, device=device).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).reshape(1, 3, 1, 1)

    def extract(x):
        x, out = (x - mean) / std, {}
        for index, module in enumerate(features):
            x = module(x)
            if index in taps:
                out[taps[index]] = x
        return out

    def gram(f):
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        return flat @ flat.transpose(1, 2) / (c * h * w)

    with torch.no_grad():
        content_target = extract(torch.from_numpy(content).to(device))[CONTENT_LAYER]
        style_grams = {k: gram(v) for k, v in extract(torch.from_numpy(style).to(device)).items() if k in STYLE_LAYERS}
    target = torch.from_numpy(content.copy()).to(device).requires_grad_(True)
    opt = torch.optim.Adam([target], lr=lr)

    def step():
        opt.zero_grad()
        acts = extract(target)
        loss = ((acts[CONTENT_LAYER] - content_target) ** 2).mean()
        for name in STYLE_LAYERS:
            loss = loss + style_weight / len(STYLE_LAYERS) * ((gram(acts[name]) - style_grams[name]) ** 2).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            target.clamp_(0.0, 1.0)
        if device != "cpu":
            torch.cuda.synchronize()
        return loss.item()

    return step


def timed_round(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    mc.manual_seed(0)
    extractor = VGGFeatures(LAYERS).to(args.device)
    content, style = pictures(args.size)
    columns = {"minicnn": minicnn_stepper(extractor, content, style, args.device)}
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch not importable: minicnn column only")
    if torch is not None:
        columns["torch"] = torch_stepper(torch, extractor, content, style, "cuda" if args.device.startswith("cuda") else "cpu")

    first_losses = {name: step() for name, step in columns.items()}     # warm-up (and a sanity check)
    rates = {name: [] for name in columns}
    for _ in range(args.rounds):
        for name, step in columns.items():                              # interleaved rounds
            rates[name].append(timed_round(step, args.steps_per_round))

    machine = machine_description()
    report = {
        "benchmark": "style transfer: Adam steps/s, VGG-19 up to conv5_1, forward + backward to the image",
        "size": args.size, "device": args.device, "rounds": args.rounds, "steps_per_round": args.steps_per_round,
        "machine": machine,
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "first_loss": first_losses,
        "steps_per_s": {name: statistics.median(r) for name, r in rates.items()},
        "rounds_steps_per_s": rates,
    }
    if "torch" in rates:
        report["minicnn_over_torch"] = report["steps_per_s"]["minicnn"] / report["steps_per_s"]["torch"]

    print(f"machine: {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, BLAS {machine['blas']}"
          + (f", env {machine['openblas_env']}" if machine["openblas_env"] else ""))
    print(f"style transfer at {args.size}x{args.size} on {args.device}: Adam steps per second "
          f"(median of {args.rounds} interleaved rounds of {args.steps_per_round} steps)")
    for name, value in report["steps_per_s"].items():
        print(f"  {name:<8} {value:8.3f} steps/s   ({1 / value:.2f} s/step; rounds: "
              + ", ".join(f"{r:.3f}" for r in rates[name]) + ")")
    if "minicnn_over_torch" in report:
        print(f"  minicnn / torch = {report['minicnn_over_torch']:.2f}  (first losses: minicnn "
              f"{first_losses['minicnn']:.5g}, torch {first_losses['torch']:.5g})")
    write_json(args.json, report)
    return report


if __name__ == "__main__":
    main()
