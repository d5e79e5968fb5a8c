"""Per-op overhead of the autograd engine: a long chain of tiny ops.

    x = x * 1.0001 + 0.001     (1,000 times, on a (16,) float32 tensor)
    x.sum().backward()

With 16 numbers the arithmetic is nothing; what is timed is the Python work
per op (``Function.apply``, making the output ``Tensor``, recording the edge)
and per backward node.  This is the cost that users of small models feel.
When PyTorch is importable the same chain runs there too, and the ratio is
taken from the same run.

    python benchmarks/bench_autograd.py [--ops 1000] [--repeats 15] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

import minicnn as mc


def chain_minicnn(n_ops, size):
    x0 = mc.tensor(np.ones(size, dtype=np.float32), requires_grad=True)
    x = x0
    for _ in range(n_ops):
        x = x * 1.0001 + 0.001
    x.sum().backward()
    return x0.grad


def chain_torch(torch, n_ops, size):
    x0 = torch.ones(size, dtype=torch.float32, requires_grad=True)
    x = x0
    for _ in range(n_ops):
        x = x * 1.0001 + 0.001
    x.sum().backward()
    return x0.grad


def median_seconds(func, repeats):
    func()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="chain length (each link is one mul and one add)")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    results = {"ops": args.ops, "size": args.size, "repeats": args.repeats, "machine": platform.processor() or platform.machine()}
    t_mc = median_seconds(lambda: chain_minicnn(args.ops, args.size), args.repeats)
    results["minicnn_ms"] = t_mc * 1e3
    print(f"minicnn : {t_mc * 1e3:8.2f} ms  ({t_mc / (2 * args.ops) * 1e6:.2f} us per op, forward + backward)")
    try:
        import torch
    except ImportError:
        print("PyTorch not importable: no comparison column")
    else:
        torch.set_num_threads(1)
        g_mc = chain_minicnn(args.ops, args.size).numpy()
        g_torch = chain_torch(torch, args.ops, args.size).numpy()
        np.testing.assert_allclose(g_mc, g_torch, rtol=1e-4)  # same computation
        t_torch = median_seconds(lambda: chain_torch(torch, args.ops, args.size), args.repeats)
        results["torch_ms"] = t_torch * 1e3
        results["torch_version"] = torch.__version__
        results["ratio_minicnn_over_torch"] = t_mc / t_torch
        print(f"PyTorch : {t_torch * 1e3:8.2f} ms  ({t_torch / (2 * args.ops) * 1e6:.2f} us per op)  torch {torch.__version__}")
        print(f"ratio minicnn / PyTorch: {t_mc / t_torch:.2f}x  (target: at most 2x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
