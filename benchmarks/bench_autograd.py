"""Per-op overhead of the autograd engine: a long chain of tiny ops.

    x = x * 1.0001 + 0.001     (1,000 times, on a (16,) float32 tensor)
    x.sum().backward()

With 16 numbers the arithmetic is nothing; what is timed is the Python work
per op (``Function.apply``, making the output ``Tensor``, recording the edge)
and per backward node.  This is the cost that users of small models feel.
When PyTorch is importable the same chain runs there too, and the ratio is
taken from the same run.

    python benchmarks/bench_autograd.py [--ops 1000] [--repeats 31] [--json out.json]
"""
from __future__ import annotations

import argparse

import numpy as np

import minicnn as mc
from minicnn.bench.timing import interleaved, median, median_ratio

try:
    from common import machine_description, write_json  # run as a script from benchmarks/
except ImportError:
    from benchmarks.common import machine_description, write_json


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="chain length (each link is one mul and one add)")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    machine = machine_description()
    results = {"ops": args.ops, "size": args.size, "repeats": args.repeats, "machine": machine}
    print(f"machine : {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}")
    print(f"BLAS    : {machine['blas']}  (OPENBLAS env: {machine['openblas_env'] or 'unset'})")
    run_mc = lambda: chain_minicnn(args.ops, args.size)  # noqa: E731
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch not importable: no comparison column")
    funcs = {"minicnn": run_mc}
    if torch is not None:
        torch.set_num_threads(1)
        np.testing.assert_allclose(  # the same computation in both
            run_mc().numpy(), chain_torch(torch, args.ops, args.size).numpy(), rtol=1e-4
        )
        funcs["torch"] = lambda: chain_torch(torch, args.ops, args.size)
    # alternate between the two each round, so that a slow episode hits both alike
    times = interleaved(funcs, args.repeats)
    t_mc = median(times["minicnn"])
    results["minicnn_ms"] = t_mc * 1e3
    print(f"minicnn : {t_mc * 1e3:8.2f} ms  ({t_mc / (2 * args.ops) * 1e6:.2f} us per op, forward + backward)")
    if torch is not None:
        t_torch, ratio = median(times["torch"]), median_ratio(times["minicnn"], times["torch"])
        results.update(torch_ms=t_torch * 1e3, torch_version=torch.__version__, ratio_minicnn_over_torch=ratio)
        print(f"PyTorch : {t_torch * 1e3:8.2f} ms  ({t_torch / (2 * args.ops) * 1e6:.2f} us per op)  torch {torch.__version__}")
        print(f"ratio minicnn / PyTorch (median of per-round ratios): {ratio:.2f}x  (target: at most 2x)")
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
