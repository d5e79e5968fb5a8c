"""The ``minicnn`` command (also ``python -m minicnn``).

    minicnn info        versions, backends, kernel implementations, GPU

Each command is a small function taking the parsed arguments; ``main`` only
dispatches.  More commands (train, eval, bench, ...) plug in the same way.
"""
from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def collect_info():
    """What ``minicnn info`` prints, as a dict (versions, devices, kernels)."""
    import minicnn
    from minicnn import backend, kernels

    cupy_version = _version("cupy") or _version("cupy-cuda12x") or _version("cupy-cuda13x")
    reason = backend.cuda_unavailable_reason()
    return {
        "minicnn": minicnn.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "cupy": cupy_version,
        "cuda_available": reason is None,
        "cuda_devices": backend.cuda_device_count(),
        "cuda_reason": reason,
        "kernel_setting": kernels.current(),
        "kernels": {
            name: {"available": impls, "cpu": kernels.choose(name, on_gpu=False)}
            for name, impls in kernels.available().items()
        },
        "default_dtype": str(backend.get_default_dtype()),
    }


def cmd_info(args):
    info = collect_info()
    if args.json:
        import json

        print(json.dumps(info, indent=2))
        return 0
    lines = [
        f"minicnn {info['minicnn']}  (Python {info['python']}, {info['platform']})",
        f"numpy   {info['numpy']}",
        f"numba   {info['numba'] or 'not installed (CPU kernels fall back to the NumPy reference)'}",
        f"cupy    {info['cupy'] or 'not installed'}",
        f"GPU     {'yes, ' + str(info['cuda_devices']) + ' device(s)' if info['cuda_available'] else 'no: ' + info['cuda_reason']}",
        f"default dtype: {info['default_dtype']}",
        f"kernels (setting {info['kernel_setting']!r}; MINICNN_KERNELS or minicnn.kernels.use() change it):",
    ]
    if not info["kernels"]:
        lines.append("  (none registered yet)")
    for name, entry in info["kernels"].items():
        lines.append(f"  {name:<28} cpu uses {entry['cpu']:<10} available: {', '.join(entry['available'])}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("BLAS    (install threadpoolctl to see which BLAS NumPy uses)")
    else:
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(
                    f"BLAS    {pool.get('internal_api')} {pool.get('version')} "
                    f"({pool.get('architecture')}, {pool.get('num_threads')} threads)"
                )
    print("\n".join(lines))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minicnn", description="minicnn: a readable, fast CNN framework (NumPy/Numba on CPU, CuPy on GPU)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="versions, backends, kernel implementations, GPU")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
