"""Inference speed and peak memory of zoo models on the CPU: ResNet-18 and VGG-16 at 224x224.

    python benchmarks/bench_models.py [--repeats 5] [--json out.json]
    python benchmarks/bench_models.py --only resnet18:8

For each case (``resnet18`` at batch 8, ``vgg16`` at batch 4, eval mode,
no_grad):

* speed: images/s from the median of ``repeats`` timed forwards after one
  warm-up, minicnn and (when importable) PyTorch alternating round by round in
  one process, so that a slow episode of a shared machine hits both alike;
  the ratio is the median of the per-round ratios;
* memory: each framework in a fresh subprocess builds the model, records its
  resident set size (RSS), runs one forward and records the peak RSS
  (``VmHWM``).  "forward extra" = peak - RSS after building: what the
  forward pass needed beyond the weights (activations, im2col buffers, ...).

Also printed: the size of the largest single im2col matrix of the network
(N * H_out * W_out rows by C_in * k * k columns, float32), the buffer an
unchunked im2col convolution materialises at once.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.models.torchvision_reference (the torch column's models)

try:
    from common import machine_description, write_json  # run as a script from benchmarks/
except ImportError:
    from benchmarks.common import machine_description, write_json

CASES = [("resnet18", 8), ("vgg16", 4)]
SIZE = 224


def build(framework, name):
    """The model in eval mode, and a function running one no-grad forward on a NumPy batch."""
    if framework == "minicnn":
        import minicnn as mc
        from minicnn import models

        model = models.get_model(name).eval()

        def forward(x):
            with mc.no_grad():
                return model(mc.tensor(x)).numpy()
        return forward
    import torch

    from tests.models import torchvision_reference

    model = torchvision_reference.build(torch)[name]().eval()

    def forward(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    return forward


def peak_rss_mb():
    """This process's peak resident set size (MB).

    /proc/self/status's VmHWM where it exists: ``ru_maxrss`` survives
    fork + exec on Linux, so a child started by a big parent would report
    the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def reset_peak_rss():
    """Set the kernel's peak-RSS mark (VmHWM) back to the current RSS (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # elsewhere the peak includes the build


def measure_memory(framework, name, batch):
    """Run in a fresh process: RSS after building, peak RSS after one forward (MB)."""
    x = np.random.default_rng(0).standard_normal((batch, 3, SIZE, SIZE)).astype(np.float32)
    forward = build(framework, name)
    built = current_rss_mb()
    reset_peak_rss()  # the peak of building (random init draws) is not the forward pass's
    forward(x)
    return {"rss_after_build_mb": built, "peak_rss_mb": peak_rss_mb(), "forward_extra_mb": peak_rss_mb() - built}


def memory_in_subprocess(framework, name, batch):
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_models import measure_memory; "
            f"print(json.dumps(measure_memory({framework!r}, {name!r}, {batch})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def largest_im2col_mb(name, batch):
    """The biggest (N*H_out*W_out) x (C_in*k*k) float32 matrix among the model's convolutions."""
    import minicnn as mc
    from minicnn import models, nn

    sizes = []

    def hook(module, args, output):
        n, _, h, w = output.shape
        kh, kw = module.kernel_size
        sizes.append(n * h * w * module.in_channels // module.groups * kh * kw * 4 / 2**20)

    model = models.get_model(name, num_classes=10)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(hook)
    model.eval()
    with mc.no_grad():
        model(mc.zeros(batch, 3, SIZE, SIZE))
    return max(sizes)


def time_case(name, batch, repeats, with_torch):
    x = np.random.default_rng(0).standard_normal((batch, 3, SIZE, SIZE)).astype(np.float32)
    forwards = {"minicnn": build("minicnn", name)}
    if with_torch:
        forwards["torch"] = build("torch", name)
    times = {k: [] for k in forwards}
    for forward in forwards.values():
        forward(x)  # warm-up: kernel compilation, allocator, caches
    for _ in range(repeats):
        for framework, forward in forwards.items():
            start = time.perf_counter()
            forward(x)
            times[framework].append(time.perf_counter() - start)
    result = {k: {"median_s": statistics.median(v), "images_per_s": batch / statistics.median(v), "times_s": v}
              for k, v in times.items()}
    if with_torch:
        result["minicnn_over_torch_time"] = statistics.median(
            m / t for m, t in zip(times["minicnn"], times["torch"]))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="+", help="cases as name:batch, e.g. resnet18:8")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    cases = [(c.split(":")[0], int(c.split(":")[1])) for c in args.only] if args.only else CASES
    try:
        import torch
        torch.set_num_threads(2)
        with_torch = True
    except ImportError:
        with_torch = False
    machine = machine_description()
    print(f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, {machine['blas']}")
    results = {"machine": machine, "size": SIZE, "cases": {}}
    for name, batch in cases:
        entry = time_case(name, batch, args.repeats, with_torch)
        frameworks = ["minicnn", "torch"] if with_torch else ["minicnn"]
        entry["memory"] = {fw: memory_in_subprocess(fw, name, batch) for fw in frameworks}
        entry["largest_im2col_mb"] = largest_im2col_mb(name, batch)
        results["cases"][f"{name}:{batch}"] = entry
        line = f"{name} batch {batch} at {SIZE}x{SIZE}: minicnn {entry['minicnn']['images_per_s']:.2f} img/s"
        if with_torch:
            line += (f", torch {entry['torch']['images_per_s']:.2f} img/s "
                     f"(minicnn takes {entry['minicnn_over_torch_time']:.1f}x torch's time)")
        print(line)
        for fw, mem in entry["memory"].items():
            if "error" in mem:
                print(f"  {fw}: memory run failed: {mem['error']}")
            else:
                print(f"  {fw}: RSS after build {mem['rss_after_build_mb']:.0f} MB, peak {mem['peak_rss_mb']:.0f} MB, "
                      f"forward extra {mem['forward_extra_mb']:.0f} MB")
        print(f"  largest single im2col matrix: {entry['largest_im2col_mb']:.0f} MB")
    write_json(args.json, results, indent=1)


if __name__ == "__main__":
    main()
